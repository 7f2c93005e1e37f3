// Journey 5: session expiry. With Playwright's fake clock, the access token is refreshed silently
// (grant_type=refresh_token) 60 s before it expires and the page keeps working; once the refresh
// token is revoked, the next refresh fails and the user lands on / with "Your session ended, sign
// in again", signs in, and comes back to the page they were on.
import { test, expect } from '@playwright/test';
import {
  authenticatorForm, described, card, collectErrors, isTokenGrant, signIn, storedRefreshToken,
} from '../../support/index.mjs';

test('an expiring access token is refreshed silently; a revoked session sends the user to sign in and back', async ({ page, baseURL, request }) => {
  const errors = collectErrors(page, { ignore: [/status of 40[01]/] });
  const unauthorized = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname.startsWith('/provisioner/') && r.status() === 401) unauthorized.push(r.url());
  });
  await page.clock.install();

  // The code exchange says how long the access token lives.
  const exchange = page.waitForResponse(
    (r) => isTokenGrant(r, 'authorization_code'),
    { timeout: 45_000 },
  );
  await signIn(page, 'bob');
  const { expires_in: lifetime } = await (await exchange).json();
  expect(lifetime).toBeGreaterThan(120);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Account');
  const firstRefreshToken = await storedRefreshToken(page);
  expect(firstRefreshToken).toBeTruthy();

  // 60 s before expiry (plus a little), the client refreshes on its own.
  const refreshed = page.waitForResponse((r) => isTokenGrant(r, 'refresh_token'));
  await page.clock.fastForward((lifetime - 60 + 5) * 1000);
  const refresh = await refreshed;
  expect(refresh.status()).toBe(200);
  // The web client sends the token endpoint the protocol crate's TokenRequest as JSON.
  expect(refresh.request().headers()['content-type']).toContain('application/json');
  expect(JSON.parse(refresh.request().postData() ?? '{}').grant_type).toBe('refresh_token');
  // Rotated: the stored refresh token is the new one.
  await expect.poll(() => storedRefreshToken(page)).not.toBe(firstRefreshToken);
  await expect(page).toHaveURL((url) => url.pathname === '/account');
  await expect(described(page, 'Username')).toHaveText('bob');

  // The page still works with the new access token.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();
  await expect(card(page, 'bob').getByTestId('cluster-state')).toHaveText('Not deployed');
  expect(unauthorized, 'no provisioner call was refused').toEqual([]);

  // Revoke the session behind the page's back.
  const revoked = await authenticatorForm(request, baseURL, '/auth/revoke', { token: await storedRefreshToken(page) });
  expect(revoked.status).toBe(200);

  // The next provisioner call is refused as expired: the client refreshes once, which fails.
  await page.route('**/provisioner/status', (route) => route.fulfill({
    status: 401,
    headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
    json: { error: 'invalid_token', error_description: 'the token has expired' },
  }), { times: 1 });
  const failedRefresh = page.waitForResponse((r) => isTokenGrant(r, 'refresh_token'));
  await card(page, 'bob').getByRole('link', { name: 'bob' }).click();
  expect((await failedRefresh).status()).toBe(400);

  await expect(page).toHaveURL((url) => url.pathname === '/');
  await expect(page.getByRole('alert')).toContainText('Your session ended, sign in again');
  expect(await storedRefreshToken(page)).toBeNull();

  // Signing in again returns to the page the user was on.
  await signIn(page, 'bob', { from: null, returnTo: '/clusters/bob' });
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Cluster bob');
  await expect(page.getByTestId('cluster-state')).toHaveText('Not deployed');
  expect(errors).toEqual([]);
});
