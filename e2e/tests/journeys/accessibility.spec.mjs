// Journey 7: an axe scan of every page finds no serious or critical violation; each page is
// photographed at 1440 px and 360 px into e2e/artifacts/.
import { test, expect } from '@playwright/test';
import { card, collectErrors, expectNoSeriousAxeViolations, screenshots, signIn } from '../../support/index.mjs';

/** Waits for the page's one h1, then photographs and scans it. */
async function check(page, name, h1) {
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(h1);
  await expect(page.getByRole('heading', { level: 1 })).toHaveCount(1);
  await screenshots(page, name);
  await expectNoSeriousAxeViolations(page);
}

test('signed-out pages: landing, sign-in error, not found', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await check(page, 'landing', 'Your own SlideRule cluster, when you need it');
  await expect(page).toHaveTitle(/SlideRule Private Clusters$/);

  // A callback whose state the app never issued.
  await page.goto('/auth/callback?code=bogus&state=bogus');
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Try again' }).or(page.getByRole('button', { name: 'Try again' })))
    .toBeVisible();
  await check(page, 'callback-error', /./);

  await page.goto('/no-such-page');
  await check(page, 'not-found-signed-out', /./);
  expect(errors).toEqual([]);
});

test('a member\'s pages: clusters, cluster detail, account, not found', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, 'bob');
  await expect(card(page, 'bob').getByTestId('cluster-state')).toHaveText('Not deployed');
  await check(page, 'clusters', 'Clusters');

  await card(page, 'bob').getByRole('link', { name: 'bob' }).click();
  await expect(page.getByTestId('cluster-state')).toHaveText('Not deployed');
  await check(page, 'cluster-detail', 'Cluster bob');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
  await expect(page.getByRole('button', { name: 'Copy access token' })).toBeVisible();
  for (const term of ['Username', 'Organization', 'Roles', 'Scopes', 'Max nodes', 'Max TTL', 'Token expires']) {
    await expect(page.getByRole('term').filter({ hasText: term }).first()).toBeVisible();
  }
  await check(page, 'account', 'Account');

  await page.goto('/no-such-page');
  await check(page, 'not-found', /./);
  expect(errors).toEqual([]);
});

test('an owner\'s pages: clusters with the open form, report', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, 'alice', { admin: true });
  await expect(page.getByLabel('Cluster name')).toBeVisible();
  await check(page, 'clusters-owner', 'Clusters');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Report' }).click();
  await expect(page.getByRole('table')).toBeVisible();
  await check(page, 'report-owner', 'Report');
  expect(errors).toEqual([]);
});

test('a non-member\'s clusters page', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, 'dave');
  await expect(page.getByRole('heading', { level: 2, name: /^You are not a member of .+ yet$/ })).toBeVisible();
  await check(page, 'clusters-non-member', 'Clusters');
  expect(errors).toEqual([]);
});
