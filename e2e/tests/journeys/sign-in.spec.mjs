// Journey 1: a member signs in through the emulated GitHub authorize page (PKCE with S256 and a
// state) and lands on /clusters with no code or state left in the URL.
import { test, expect } from '@playwright/test';
import { REFRESH_TOKEN_KEY, card, collectErrors, screenshots, signIn } from '../../support/index.mjs';

test('bob signs in through the emulated GitHub and lands on /clusters', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Your own SlideRule cluster, when you need it');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link')).toHaveCount(0);

  const loginRequest = page.waitForRequest((r) => new URL(r.url()).pathname === '/auth/github/login');
  await page.getByRole('button', { name: 'Sign in with GitHub' }).click();
  const login = new URL((await loginRequest).url());
  expect(login.searchParams.get('response_type')).toBe('code');
  expect(login.searchParams.get('code_challenge_method')).toBe('S256');
  // A SHA-256 digest in base64url without padding.
  expect(login.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const state = login.searchParams.get('state');
  expect(state, 'the login request carries a state').toBeTruthy();
  expect(login.searchParams.get('scope') ?? '').not.toContain('sliderule:admin');

  // The emulated GitHub's authorize page: one button per demo user.
  await expect(page).toHaveURL(/\/_github\/login\/oauth\/authorize/);
  await screenshots(page, 'github-authorize');
  const callbackRequest = page.waitForRequest((r) => new URL(r.url()).pathname === '/auth/callback');
  await page.getByRole('button', { name: 'bob', exact: true }).click();

  // Back in the app with the code and the same state, which the app then strips.
  const callback = new URL((await callbackRequest).url());
  expect(callback.searchParams.get('code')).toBeTruthy();
  expect(callback.searchParams.get('state')).toBe(state);
  await expect(page).toHaveURL((url) => url.pathname === '/clusters' && url.search === '' && url.hash === '');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Clusters');
  await expect(page).toHaveTitle('Clusters · SlideRule Private Clusters');
  await expect(card(page, 'bob')).toBeVisible();

  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Clusters' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Account' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Report' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();

  // The refresh token is kept for reloads; nothing of the code exchange is left in the URL.
  expect(await page.evaluate((key) => localStorage.getItem(key), REFRESH_TOKEN_KEY)).toBeTruthy();
  expect(page.url()).not.toMatch(/code=|state=/);
  expect(errors).toEqual([]);
});

test('without a configured client id the web client registers itself once, then signs in', async ({ page }) => {
  const errors = collectErrors(page);
  // A deployment whose config.json names no client: the web client must use dynamic registration.
  await page.route('**/config.json', async (route) => {
    const response = await route.fetch();
    const { client_id: _dropped, ...config } = await response.json();
    await route.fulfill({ response, json: config });
  });
  const registrations = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/auth/github/register') registrations.push(r);
  });

  const login = await signIn(page, 'carol');
  expect(registrations).toHaveLength(1);
  const registered = JSON.parse(registrations[0].postData());
  expect(registered.redirect_uris).toEqual([`${new URL(page.url()).origin}/auth/callback`]);
  expect(login.searchParams.get('client_id')).not.toBe('sliderule-web');
  await expect(card(page, 'carol')).toBeVisible();

  // Signing in again in this browser reuses the registration.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('button', { name: 'Sign in with GitHub' })).toBeVisible();
  const again = await signIn(page, 'carol');
  expect(registrations).toHaveLength(1);
  expect(again.searchParams.get('client_id')).toBe(login.searchParams.get('client_id'));
  expect(errors).toEqual([]);
});
