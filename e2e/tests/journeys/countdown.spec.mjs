// Time matters on a cluster's page: the countdown to auto-shutdown follows the browser's clock
// (here Playwright's fake one) second by second, without waiting in real time.
import { test, expect } from '@playwright/test';
import { apiSession, collectErrors, destroyIfDeployed, signIn } from '../../support/index.mjs';

const cluster = 'alice';

test.afterEach(async ({ request, baseURL }) => {
  await destroyIfDeployed(request, baseURL, 'alice', cluster);
});

test('the auto-shutdown countdown runs down with the clock', async ({ page, request, baseURL }) => {
  const errors = collectErrors(page);
  const alice = await apiSession(request, baseURL, 'alice');
  const deployed = await alice.deploy(cluster, 1, 30);
  expect(deployed.status, JSON.stringify(deployed.body)).toBe(200);

  await page.clock.install();
  await signIn(page, 'alice', { from: `/clusters/${cluster}` });
  const countdown = page.getByTestId('cluster-countdown');
  await expect(countdown).toHaveText(/^(29 min \d\d s|30 min 00 s) left$/);

  // Ten minutes later by the page's clock, with no real waiting.
  await page.clock.fastForward('10:00');
  await expect(countdown).toHaveText(/^(19 min \d\d s|20 min 00 s) left$/);
  await page.clock.fastForward('21:00');
  await expect(countdown).toHaveText('due now');
  expect(errors).toEqual([]);
});
