// Destroy is never blocked by a running operation: pressed while the cluster updates, it is
// accepted at once, the page says the destroy is pending, and the cluster goes without another
// click once the update has finished. carol's personal cluster "carol".
import { expect, test } from '@playwright/test';
import {
  apiSession, area, collectErrors, destroyIfDeployed, expectNoSeriousAxeViolations, screenshots,
  signIn,
} from '../../support/index.mjs';

test.afterEach(async ({ request, baseURL }) => {
  await destroyIfDeployed(request, baseURL, 'carol', 'carol');
});

test('a destroy pressed during an update is shown as pending and lands on its own', async ({ page, request, baseURL }) => {
  const errors = collectErrors(page);
  const api = await apiSession(request, baseURL, 'carol');
  expect((await api.deploy('carol', 1, 60)).status).toBe(200);
  await expect.poll(async () => (await api.status('carol')).body?.state, { timeout: 30_000 })
    .toBe('RUNNING');

  await signIn(page, 'carol', { from: '/clusters/carol' });
  const state = page.getByTestId('cluster-state');
  await expect(state).toHaveText('Running');
  const destroy = area(page, 'Destroy');
  await destroy.getByLabel('Type carol to confirm').fill('carol');

  // An update starts behind the page's back (another tab, or the Python client); Destroy is
  // pressed while it runs.
  const update = await api.deploy('carol', 10, 60);
  expect(update.body?.state).toBe('UPDATING');
  const destroyed = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('/provisioner/destroy'));
  await destroy.getByRole('button', { name: 'Destroy', exact: true }).click();
  const answer = await destroyed;
  expect(answer.status()).toBe(200);
  expect(await answer.json()).toMatchObject({ cluster: 'carol', state: 'DESTROYING', destroy_pending: true });

  // The page says so, and nothing more can be asked of the cluster meanwhile.
  const pending = page.getByTestId('destroy-pending');
  await expect(pending).toContainText('Destroy pending');
  await expect(pending).toContainText('Nothing more to do');
  await expect(page.getByRole('button', { name: 'Destroy', exact: true })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Extend', exact: true })).toBeDisabled();
  await expectNoSeriousAxeViolations(page);
  await screenshots(page, 'cluster-detail-destroy-pending');

  // Once the update is over the reaper deletes the stack; the page follows by itself.
  await expect(state).toHaveText('Not deployed', { timeout: 30_000 });
  await expect(pending).toHaveCount(0);
  expect(errors).toEqual([]);
});
