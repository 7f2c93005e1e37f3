// Journey 9: organizations (organizations.md). A local account signs in with its username; an
// outsider asks to join icesat2 and an admin approves it; two members' requests pool into one
// cluster, which goes to sleep when both are withdrawn.
import { test, expect } from '@playwright/test';
import {
  area, collectErrors, expectNoSeriousAxeViolations, screenshots, signIn, signInLocal,
} from '../../support/index.mjs';

const org = 'icesat2';

test('a local account signs in with its username and sees its organization', async ({ page }) => {
  const errors = collectErrors(page);
  await signInLocal(page, 'erin');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav).toContainText('erin');
  await nav.getByRole('link', { name: 'Organizations' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Organizations');
  const card = page.getByTestId('org-card').filter({ hasText: org });
  await expect(card.getByTestId('org-standing')).toHaveText('You are a member.');
  await expect(card.getByRole('link', { name: 'Open its cluster' })).toBeVisible();
  await screenshots(page, 'organizations');
  await expectNoSeriousAxeViolations(page);

  await nav.getByRole('link', { name: 'Account' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Password' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('a wrong password is refused on the landing page without leaving it', async ({ page }) => {
  const errors = collectErrors(page, { ignore: [/status of 401/] });
  await page.goto('/');
  const form = page.locator('form').filter({ has: page.getByLabel('Username', { exact: true }) });
  await form.getByLabel('Username', { exact: true }).fill('erin');
  await form.getByLabel('Password', { exact: true }).fill('not her password');
  await form.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('the username or password is wrong');
  await expect(page).toHaveURL((url) => url.pathname === '/');
  await screenshots(page, 'sign-in-local-refused');
  await expectNoSeriousAxeViolations(page);
  expect(errors).toEqual([]);
});

test('an outsider asks to join, an admin approves, and the new member can ask for nodes', async ({ browser, page }) => {
  const errors = collectErrors(page);
  await signInLocal(page, 'frank');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Organizations' }).click();
  const card = page.getByTestId('org-card').filter({ hasText: org });
  await expect(card.getByTestId('org-standing')).toHaveText(/not a member|deactivated/);
  await card.getByRole('button', { name: `Request membership of ${org}` }).click();
  await expect(card.getByTestId('org-standing')).toHaveText('You asked to join; an admin has not decided yet.');
  await expect(card.getByRole('button', { name: `Request membership of ${org}` })).toHaveCount(0);

  // alice, an owner, administers every organization: she approves on the cluster's page.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  const adminErrors = collectErrors(admin, { ignore: [/status of 404/] });
  await signIn(admin, 'alice', { admin: true });
  await admin.goto(`/clusters/${org}`);
  const members = area(admin, 'Members and requests to join (admins)');
  const frank = members.getByRole('listitem').filter({ hasText: 'frank' });
  await expect(frank).toContainText('pending');
  await screenshots(admin, 'organization-admin');
  await expectNoSeriousAxeViolations(admin);
  await frank.getByRole('button', { name: 'Approve frank' }).click();
  await expect(frank).toContainText('member');

  // frank's next token carries the membership: the organizations page fetches one.
  await page.reload();
  await expect(card.getByTestId('org-standing')).toHaveText('You are a member.');
  await card.getByRole('link', { name: 'Open its cluster' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Cluster ${org}`);
  await expect(area(page, 'Request nodes')).toBeVisible();

  // Owners create organizations from the same page (a new name each run: they are never deleted).
  const created = `e2e-${Date.now().toString(36)}`;
  await admin.goto('/organizations');
  const create = area(admin, 'Create an organization (owners)');
  await create.getByLabel("Name (also its cluster's)").fill(created);
  await create.getByLabel('Maximum nodes').fill('2');
  await create.getByRole('button', { name: 'Create', exact: true }).click();
  const createdCard = admin.getByTestId('org-card').filter({ hasText: created });
  await expect(createdCard.getByTestId('org-standing')).toHaveText('You administer this organization.');
  await expect(createdCard).toContainText('0 to 2, 0 now asked for');
  await admin.goto(`/clusters/${org}`);

  // Put frank back outside, so the journey runs again on the same server.
  await frank.getByRole('button', { name: 'Deactivate frank' }).click();
  await expect(frank).toContainText('deactivated');
  await adminContext.close();
  expect(errors).toEqual([]);
  expect(adminErrors).toEqual([]);
});

/** Asks for `nodes` on the organization's page through "Request nodes". */
async function requestNodes(page, nodes, minutes) {
  const form = area(page, 'Request nodes');
  await form.getByLabel('Nodes', { exact: true }).fill(String(nodes));
  await form.getByLabel('For how long (minutes, 15 to 720)').fill(String(minutes));
  await form.getByRole('button', { name: 'Request nodes', exact: true }).click();
}

test('two members\' requests pool into one cluster that sleeps when both are withdrawn', async ({ browser, page }) => {
  const errors = collectErrors(page);
  await signIn(page, 'bob');
  await page.goto(`/clusters/${org}`);
  await requestNodes(page, 2, 60);
  await expect(page.getByTestId('org-target')).toHaveText('2 nodes');
  await expect(page.getByTestId('cluster-state')).toHaveText(/Deploying|Running/, { timeout: 15_000 });

  const erinContext = await browser.newContext();
  const erin = await erinContext.newPage();
  const erinErrors = collectErrors(erin);
  await signInLocal(erin, 'erin');
  await erin.goto(`/clusters/${org}`);
  await requestNodes(erin, 3, 30);
  await expect(erin.getByTestId('org-target')).toHaveText('5 nodes');
  const rows = erin.getByTestId('org-requests').getByRole('row');
  await expect(rows.filter({ hasText: 'bob' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'erin' })).toHaveCount(1);
  await screenshots(erin, 'organization-pooled');
  await expectNoSeriousAxeViolations(erin);

  await erin.getByRole('button', { name: 'Withdraw my request' }).click();
  await expect(erin.getByTestId('org-target')).toHaveText('2 nodes');
  await page.reload();
  await page.getByRole('button', { name: 'Withdraw my request' }).click();
  await expect(page.getByTestId('org-target')).toHaveText('0 nodes');
  await expect(page.getByTestId('org-requests')).toContainText('Nobody is asking for nodes: the cluster sleeps.');
  await expect(page.getByTestId('cluster-state')).toHaveText(/Destroying|Not deployed/);
  await expect(page.getByTestId('cluster-state')).toHaveText('Not deployed', { timeout: 30_000 });
  await erinContext.close();
  expect(errors).toEqual([]);
  expect(erinErrors).toEqual([]);
});

test('a newcomer creates an account of their own on the landing page and is signed in', async ({ page }) => {
  const errors = collectErrors(page);
  const username = `newcomer-${Date.now().toString(36)}`;
  await page.goto('/');
  await page.getByText('No account? Create one').click();
  const form = page.getByRole('form', { name: 'Create an account' });
  await form.getByLabel('Choose a username').fill(username);
  await form.getByLabel('Choose a password').fill('short');
  await form.getByRole('button', { name: 'Create my account' }).click();
  await expect(form.getByRole('alert')).toContainText('12');
  await form.getByLabel('E-mail').fill(`${username}@example.org`);
  await form.getByLabel('Choose a password').fill('a long enough passphrase');
  await form.getByRole('button', { name: 'Create my account' }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/clusters', { timeout: 15_000 });
  await expect(page.getByRole('banner')).toContainText(username);
  await expectNoSeriousAxeViolations(page);
  expect(errors, 'no unexpected console errors').toEqual([]);
});
