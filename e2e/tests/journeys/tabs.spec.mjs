// Journey 6: a reload keeps the session, a second tab is signed in too, and signing out in one
// tab ends the session in the other (which goes to /) and on the server (the refresh token no
// longer works).
import { test, expect } from '@playwright/test';
import {
  REFRESH_TOKEN_KEY, authenticatorForm, described, collectErrors, signIn, storedRefreshToken,
} from '../../support/index.mjs';

test('reload and a second tab keep the session; signing out ends it everywhere', async ({ page, context, baseURL, request }) => {
  const errors = collectErrors(page);
  await signIn(page, 'carol');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Clusters');

  // Reload: silently signed in again from the stored refresh token.
  await page.reload();
  await expect(page).toHaveURL((url) => url.pathname === '/clusters');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Clusters');
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' })).toBeVisible();

  // A second tab of the same browser.
  const other = await context.newPage();
  const otherErrors = collectErrors(other);
  await other.goto('/account');
  await expect(other.getByRole('heading', { level: 1 })).toHaveText('Account');
  await expect(described(other, 'Username')).toHaveText('carol');
  await expect(other.getByRole('button', { name: 'Sign out' }).first()).toBeVisible();

  // Sign out in the second tab; the first follows.
  const token = await storedRefreshToken(other);
  expect(token).toBeTruthy();
  const revoke = other.waitForRequest((r) => new URL(r.url()).pathname === '/auth/revoke' && r.method() === 'POST');
  await other.getByRole('button', { name: 'Sign out' }).first().click();
  await revoke;
  await expect(other).toHaveURL((url) => url.pathname === '/');
  await expect(other.getByRole('button', { name: 'Sign in with GitHub' })).toBeVisible();
  await expect(page).toHaveURL((url) => url.pathname === '/');
  await expect(page.getByRole('button', { name: 'Sign in with GitHub' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link')).toHaveCount(0);
  expect(await page.evaluate((key) => localStorage.getItem(key), REFRESH_TOKEN_KEY)).toBeNull();

  // The refresh token is dead on the server.
  const reuse = await authenticatorForm(request, baseURL, '/auth/github/token', {
    grant_type: 'refresh_token', refresh_token: token,
  });
  expect(reuse.status).toBe(400);
  expect(reuse.body?.error).toBe('invalid_grant');

  // And a reload stays signed out.
  await page.reload();
  await expect(page.getByRole('button', { name: 'Sign in with GitHub' })).toBeVisible();
  expect(errors).toEqual([]);
  expect(otherErrors).toEqual([]);
});
