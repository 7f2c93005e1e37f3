// Journey 12: the test runner on the owners' Report page. alice starts a run of a branch, a
// second start is refused while it runs, and the branch's summary appears once the simulated
// run finishes (about 20 cloud steps of 0.2 s after its instance is up).
import { expect, test } from '@playwright/test';
import { collectErrors, expectNoSeriousAxeViolations, signIn } from '../../support/index.mjs';

test('an owner starts a test run and reads its summary when it finishes', async ({ page }) => {
  const errors = collectErrors(page, { ignore: [/status of (404|409)/] });
  const branch = `e2e-${Date.now()}`;
  await signIn(page, 'alice', { admin: true });
  await page.goto('/report');
  const tests = page.getByTestId('test-runner');
  await tests.getByLabel('Branch').fill(branch);
  await tests.getByRole('button', { name: 'Start a test run' }).click();
  await expect(tests.getByRole('status')).toContainText(`A run of ${branch} started`);
  await tests.getByRole('button', { name: 'Start a test run' }).click();
  await expect(tests.getByRole('alert')).toContainText('one runs at a time');

  await expect(async () => {
    await tests.getByRole('button', { name: 'Read the latest summary' }).click();
    await expect(tests.getByTestId('test-summary')).toContainText(`${branch} of`, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(tests.getByTestId('test-summary')).toContainText(': passed');
  await expect(tests.getByRole('row', { name: /sliderule/ })).toContainText('187');
  await expectNoSeriousAxeViolations(page);
  expect(errors, 'no unexpected console errors').toEqual([]);
});
