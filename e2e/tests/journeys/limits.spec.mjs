// Journey 3: capacity above the member's maximum and a TTL above it are refused with the message
// the server uses (the protocol crate's, shared by browser and server: crates/protocol/src/
// limits.rs), without a request; and when the page's limits are stale, the request reaches the
// server and its error_description is shown inline. carol's personal cluster "carol" (never
// deployed here).
import { test, expect } from '@playwright/test';
import { area, card, collectErrors, signIn } from '../../support/index.mjs';

const NODES_MESSAGE = 'node_capacity of 11 exceeds your maximum of 10 nodes';
const TTL_MESSAGE = 'ttl of 721 minutes exceeds your maximum of 720 minutes';

/** Signs carol in and opens her cluster's page from its card. */
async function openOwnCluster(page) {
  await signIn(page, 'carol');
  await card(page, 'carol').getByRole('link', { name: 'carol' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Cluster carol');
}

/** Counts the deploy requests the page sends. */
function countDeploys(page) {
  const sent = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/provisioner/deploy')) sent.push(r);
  });
  return sent;
}

test('nodes and TTL above the member maximum are refused in the page with the server\'s words', async ({ page }) => {
  const errors = collectErrors(page);
  const deploys = countDeploys(page);
  await openOwnCluster(page);
  const deploy = area(page, 'Deploy');
  const nodes = deploy.getByLabel('Nodes', { exact: true });
  const ttl = deploy.getByLabel('Time to live (minutes)', { exact: true });
  const submit = deploy.getByRole('button', { name: 'Deploy', exact: true });

  await nodes.fill('11');
  await ttl.fill('60');
  await submit.click();
  await expect(page.getByRole('alert').filter({ hasText: NODES_MESSAGE })).toBeVisible();
  // Members never reach the "more than 10 nodes" confirmation: the limit comes first.
  await expect(page.getByRole('dialog')).toHaveCount(0);

  await nodes.fill('2');
  await ttl.fill('721');
  await submit.click();
  await expect(page.getByRole('alert').filter({ hasText: TTL_MESSAGE })).toBeVisible();
  await expect(page.getByRole('alert').filter({ hasText: NODES_MESSAGE })).toHaveCount(0);

  // 720 minutes is the maximum, so the 12-hour preset is offered and fits.
  await deploy.getByRole('button', { name: '12 hours', exact: true }).click();
  await expect(ttl).toHaveValue('720');
  await expect(page.getByRole('alert').filter({ hasText: TTL_MESSAGE })).toHaveCount(0);

  expect(deploys, 'no deploy request was sent').toHaveLength(0);
  await expect(page.getByTestId('cluster-state')).toHaveText('Not deployed');
  expect(errors).toEqual([]);
});

test('with stale limits in the page, the server refuses and its error_description is shown inline', async ({ page }) => {
  // The refused deploy is a 422, which Chromium logs as a failed resource.
  const errors = collectErrors(page, { ignore: [/status of 422/] });
  // The page believes carol may run 50 nodes for 1000 minutes; the server knows better.
  await page.route('**/provisioner/info', async (route) => {
    const response = await route.fetch();
    const info = await response.json();
    await route.fulfill({ response, json: { ...info, maxNodes: 50, maxTTL: 1000 } });
  });
  await openOwnCluster(page);
  const deploy = area(page, 'Deploy');
  await deploy.getByLabel('Nodes', { exact: true }).fill('11');
  await deploy.getByLabel('Time to live (minutes)', { exact: true }).fill('60');

  const answer = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/provisioner/deploy'));
  await deploy.getByRole('button', { name: 'Deploy', exact: true }).click();
  // Above 10 nodes the page asks first, naming the count.
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Deploy 11 nodes' }).click();

  const refused = await answer;
  expect(refused.status()).toBe(422);
  const body = await refused.json();
  expect(body.error_description).toBe(NODES_MESSAGE);
  // Shown where the action was taken: inside the deploy form.
  await expect(area(page, 'Deploy').getByRole('alert')).toContainText(NODES_MESSAGE);
  await expect(page.getByTestId('cluster-state')).toHaveText('Not deployed');
  expect(errors).toEqual([]);
});
