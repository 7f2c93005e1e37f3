// Journey 2, shared by the simulated demo (tests/journeys/deploy.spec.mjs) and the moto-backed
// server (tests/moto/deploy.spec.mjs): deploy → DEPLOYING → RUNNING with nodes joining → extend →
// events → destroy → "Not deployed".
import { expect } from '@playwright/test';
import { area, card, collectErrors, screenshots, signIn } from './index.mjs';

/**
 * Runs the journey as `login` on their personal cluster (named after them).
 * `stepwise`: the cloud takes visible steps (the simulated cloud); moto completes every
 * operation before answering, so there the intermediate states may never be seen.
 */
export async function deployJourney(page, { login, stepwise, shots }) {
  const errors = collectErrors(page);
  const cluster = login;
  await signIn(page, login);

  // The card on /clusters: not deployed yet.
  const own = card(page, cluster);
  await expect(own).toBeVisible();
  await expect(own.getByTestId('cluster-state')).toHaveText('Not deployed');
  await expect(own.getByTestId('cluster-countdown')).toHaveText('—');
  await own.getByRole('link', { name: cluster }).click();
  await expect(page).toHaveURL((url) => url.pathname === `/clusters/${cluster}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Cluster ${cluster}`);
  await expect(page).toHaveTitle(`Cluster ${cluster} · SlideRule Private Clusters`);

  const state = page.getByTestId('cluster-state');
  const nodes = page.getByTestId('cluster-nodes');
  const shutdown = page.getByTestId('cluster-shutdown');
  await expect(state).toHaveText('Not deployed');

  // Extend and Destroy do not apply yet.
  await expect(page.getByRole('button', { name: 'Extend', exact: true })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Destroy', exact: true })).toBeDisabled();

  // Deploy: 3 nodes, one hour (preset), the default version; members have no "Public".
  const deploy = area(page, 'Deploy');
  await expect(deploy).toBeVisible();
  await deploy.getByLabel('Nodes', { exact: true }).fill('3');
  await deploy.getByRole('button', { name: '1 hour', exact: true }).click();
  await expect(deploy.getByLabel('Time to live (minutes)', { exact: true })).toHaveValue('60');
  await expect(deploy.getByLabel('Version', { exact: true })).toHaveValue('latest');
  await expect(deploy.getByRole('checkbox', { name: 'Public' })).toHaveCount(0);
  // Member limits: 720 minutes, so every preset up to 12 hours is offered.
  for (const preset of ['15 min', '1 hour', '4 hours', '12 hours']) {
    await expect(deploy.getByRole('button', { name: preset, exact: true })).toBeVisible();
  }
  if (shots) await screenshots(page, 'cluster-detail-not-deployed');

  const deployRequest = page.waitForRequest((r) => new URL(r.url()).pathname.endsWith('/provisioner/deploy'));
  await deploy.getByRole('button', { name: 'Deploy', exact: true }).click();
  const sent = (await deployRequest).postDataJSON();
  expect(sent).toMatchObject({ cluster, node_capacity: 3, ttl: 60 });

  // Watch it come up: the node count is sampled until all three nodes joined.
  const seen = [];
  if (stepwise) await expect(state).toHaveText('Deploying');
  await expect.poll(async () => {
    const text = (await nodes.textContent())?.trim();
    if (text && seen.at(-1) !== text) seen.push(text);
    return text;
  }, { timeout: 30_000, intervals: [100] }).toBe('3 / 3');
  await expect(state).toHaveText('Running', { timeout: 30_000 });
  if (stepwise) {
    // Nodes joined while it deployed: the first count seen was below the capacity.
    expect(seen[0], `node counts seen: ${seen.join(', ')}`).toMatch(/^[0-2] \/ 3$/);
  }
  await expect(page.getByTestId('cluster-countdown')).toHaveText(/left$/);
  const deadline = (await shutdown.textContent())?.trim();
  expect(deadline).toBeTruthy();
  if (shots) await screenshots(page, 'cluster-detail-running');

  // Live now: the form updates, Extend applies.
  await expect(page.getByRole('heading', { level: 2, name: 'Update', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Update', exact: true })).toBeVisible();

  // Extend to 4 hours from now: the page says what the new deadline will be, then shows it.
  const extend = area(page, 'Extend');
  await extend.getByLabel('New time to live (minutes)', { exact: true }).fill('240');
  await expect(extend.getByText(/New auto-shutdown: .+\(replaces the current one\)/)).toBeVisible();
  const extendButton = extend.getByRole('button', { name: 'Extend', exact: true });
  await expect(extendButton).toBeEnabled();
  const extendRequest = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/provisioner/extend'));
  await extendButton.click();
  expect((await extendRequest).status()).toBe(200);
  await expect(shutdown).not.toHaveText(deadline);
  await expect(page.getByTestId('cluster-countdown')).toHaveText(/left$/);

  // Events: newest first, the stack's creation among them.
  const events = area(page, 'Events').getByRole('listitem');
  await expect(events.first()).toBeVisible();
  await expect(area(page, 'Events').getByRole('listitem').filter({ hasText: 'CREATE_COMPLETE' }).first())
    .toBeVisible();
  expect(await events.count()).toBeGreaterThan(1);

  // Destroy: only once the name is typed.
  const destroy = area(page, 'Destroy');
  const destroyButton = destroy.getByRole('button', { name: 'Destroy', exact: true });
  await expect(destroyButton).toBeDisabled();
  await destroy.getByLabel(`Type ${cluster} to confirm`).fill(cluster.slice(0, -1));
  await expect(destroyButton).toBeDisabled();
  await destroy.getByLabel(`Type ${cluster} to confirm`).fill(cluster);
  await expect(destroyButton).toBeEnabled();
  await destroyButton.click();
  if (stepwise) await expect(state).toHaveText(/Destroying|Not deployed/);
  await expect(state).toHaveText('Not deployed', { timeout: 30_000 });
  await expect(page.getByRole('heading', { level: 2, name: 'Deploy', exact: true })).toBeVisible();

  // Back on the list, the card agrees.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();
  await expect(card(page, cluster).getByTestId('cluster-state')).toHaveText('Not deployed');
  expect(errors).toEqual([]);
}
