// Journey 4: who sees what. A non-member gets the explanation and no deploy controls; an owner
// signed in as administrator sees /report with every cluster (one deployed by a member through
// the API) and sorts it; a member cannot open another member's cluster.
import { test, expect } from '@playwright/test';
import { apiSession, card, collectErrors, destroyIfDeployed, screenshots, signIn } from '../../support/index.mjs';

test('a non-member sees why they cannot deploy, and no deploy controls', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, 'dave');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Clusters');
  await expect(page.getByRole('heading', { level: 2, name: /^You are not a member of .+ yet$/ })).toBeVisible();
  await expect(page.getByRole('article')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Deploy', exact: true })).toHaveCount(0);
  await expect(page.getByLabel('Nodes', { exact: true })).toHaveCount(0);
  await expect(page.getByLabel('Cluster name')).toHaveCount(0);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Report' })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test.describe('an owner\'s report', () => {
  // bob's team cluster, deployed through the API so the report has a member's cluster in it.
  const cluster = 'icesat2';
  test.afterEach(async ({ request, baseURL }) => {
    await destroyIfDeployed(request, baseURL, 'bob', cluster);
  });

  test('an owner signed in as administrator sees every cluster in /report and sorts it', async ({ page, request, baseURL }) => {
    const bob = await apiSession(request, baseURL, 'bob');
    const deployed = await bob.deploy(cluster, 1, 30);
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(200);

    const errors = collectErrors(page);
    const login = await signIn(page, 'alice', { admin: true });
    expect(login.searchParams.get('scope') ?? '').toContain('sliderule:admin');
    // Owners can open any cluster by name.
    await expect(page.getByLabel('Cluster name')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Open', exact: true })).toBeVisible();

    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Report' }).click();
    await expect(page).toHaveURL((url) => url.pathname === '/report');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Report');
    const table = page.getByRole('table');
    const row = table.getByRole('row').filter({ hasText: cluster });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText('bob');

    for (const column of ['Cluster', 'Owner', 'State', 'Nodes', 'Version', 'Public', 'Auto-shutdown']) {
      await expect(table.getByRole('columnheader').getByRole('button', { name: column, exact: true })).toBeVisible();
    }
    // Sorting by a column sets aria-sort on its header; again reverses it.
    const header = table.getByRole('columnheader').filter({ has: page.getByRole('button', { name: 'Owner', exact: true }) });
    const before = await header.getAttribute('aria-sort');
    await header.getByRole('button', { name: 'Owner', exact: true }).click();
    await expect(header).toHaveAttribute('aria-sort', /^(ascending|descending)$/);
    const first = await header.getAttribute('aria-sort');
    expect(first).not.toBe(before);
    await header.getByRole('button', { name: 'Owner', exact: true }).click();
    await expect(header).toHaveAttribute('aria-sort', first === 'ascending' ? 'descending' : 'ascending');

    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await expect(row).toHaveCount(1);
    await screenshots(page, 'report');
    expect(errors).toEqual([]);
  });
});

test('a member opening another member\'s cluster is told they cannot use it, with no forms', async ({ page }) => {
  const errors = collectErrors(page, { ignore: [/status of 403/] });
  await signIn(page, 'bob');
  await expect(card(page, 'carol')).toHaveCount(0);
  await page.goto('/clusters/carol');
  await expect(page.getByRole('alert')).toContainText('You cannot use cluster carol');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  for (const control of ['Deploy', 'Update', 'Extend', 'Destroy']) {
    await expect(page.getByRole('button', { name: control, exact: true })).toHaveCount(0);
  }
  await expect(page.getByLabel('Nodes', { exact: true })).toHaveCount(0);
  await expect(page.getByLabel(`Type carol to confirm`)).toHaveCount(0);
  await screenshots(page, 'cluster-forbidden');
  expect(errors).toEqual([]);
});
