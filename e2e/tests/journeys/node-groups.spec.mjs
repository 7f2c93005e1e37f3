// Journey 11: per-user node groups. carol adds nodes of her own to the demo's public cluster
// from the Clusters page, watches them join, and removes them; the panel is axe-clean.
import { expect, test } from '@playwright/test';
import {
  apiSession, collectErrors, expectNoSeriousAxeViolations, screenshots, signIn,
} from '../../support/index.mjs';

test.afterEach(async ({ request, baseURL }) => {
  // The simulated cloud is shared by the whole run: never leave carol's nodes behind.
  try {
    const api = await apiSession(request, baseURL, 'carol');
    await api.call('/destroy/carol', { cluster: 'sliderule' });
  } catch (error) {
    console.warn(`cleanup: ${error.message}`);
  }
});

test('a member adds nodes of her own to the public cluster, watches them join and removes them', async ({ page }) => {
  const errors = collectErrors(page);
  await signIn(page, 'carol');
  const panel = page.getByTestId('node-group');
  await expect(panel.getByRole('heading', { name: 'Your nodes on the public cluster' })).toBeVisible();
  await expect(panel).toContainText('You have no nodes of your own here');

  await panel.getByLabel('Nodes of your own').fill('2');
  await panel.getByLabel('Time to live (minutes)').fill('30');
  await panel.getByRole('button', { name: 'Add or resize my nodes' }).click();
  // Polled every 5 s while it changes: the nodes join.
  await expect(panel.getByTestId('node-group-nodes')).toHaveText('2 of 2', { timeout: 30_000 });
  await expect(panel.getByTestId('node-group-state')).toHaveText('Running');
  await expectNoSeriousAxeViolations(page);
  await screenshots(page, 'node-group-running');

  await panel.getByRole('button', { name: 'Remove my nodes' }).click();
  await expect(panel.getByTestId('node-group-state')).toHaveText('Destroying');
  expect(errors, 'no unexpected console errors').toEqual([]);
});
