// The cluster list keeps itself current: the report every 30 s when nothing is busy, while who
// may deploy what (`/info`) is asked once per visit.
import { test, expect } from '@playwright/test';
import { card, collectErrors, signIn } from '../../support/index.mjs';

test('the cluster list polls the report every 30 s and asks /info once', async ({ page }) => {
  const errors = collectErrors(page);
  const calls = { info: 0, report: 0 };
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.endsWith('/provisioner/info')) calls.info += 1;
    if (path.endsWith('/provisioner/report/clusters')) calls.report += 1;
  });
  await page.clock.install();
  await signIn(page, 'carol');
  await expect(card(page, 'carol')).toBeVisible();
  expect(calls).toEqual({ info: 1, report: 1 });

  await page.clock.fastForward('00:31');
  await expect.poll(() => calls.report).toBe(2);
  await page.clock.fastForward('00:31');
  await expect.poll(() => calls.report).toBe(3);
  expect(calls.info).toBe(1);
  expect(errors).toEqual([]);
});
