// Journey 8: budgets. An owner leaves bob's personal account 1 USD from its budget page; bob's
// deploy form then explains, before sending anything, that 3 nodes for an hour cost more than
// that and how long it would pay for (the server's own sentence); an owner credit lets the
// deploy through; the budget page shows the balance chart with its forecast and the ledger.
// The balance is put back at the end, so the other journeys deploy as before.
import { test, expect } from '@playwright/test';
import {
  apiSession, area, card, collectErrors, destroyIfDeployed, expectNoSeriousAxeViolations, screenshots, signIn,
} from '../../support/index.mjs';

// bob's personal cluster (the team's icesat2 is an organization, whose page asks for nodes).
const cluster = 'bob';
// Notes of this run, so rows left in the ledger by an earlier run on the same server never match.
const run = Date.now().toString(36);
const LEAVE = `e2e ${run}: leave 1 USD`;
const WORKSHOP = `e2e ${run}: workshop`;
const REFUSAL = '3 nodes for 60 minutes cost 1.70 USD but the balance of bob is 1.00 USD; it affords at most 35 minutes';

test.afterEach(async ({ request, baseURL }) => {
  await destroyIfDeployed(request, baseURL, 'bob', cluster);
});

/** Credits (or debits, when negative) `amount` USD to bob's account through the owner's form. */
async function adjust(owner, amount, note) {
  const form = area(owner, 'Credit or debit');
  await form.getByLabel('Amount (USD)').fill(amount);
  await form.getByLabel('Note').fill(note);
  await form.getByRole('button', { name: 'Apply', exact: true }).click();
  await expect(owner.getByRole('row').filter({ hasText: `${note} (alice)` })).toHaveCount(1);
}

test('a deploy the budget cannot pay is explained before sending, and an owner credit lets it through', async ({ browser, page, request, baseURL }) => {
  // A member's first look opens his account; nothing of it runs.
  const bob = await apiSession(request, baseURL, 'bob');
  await bob.destroy(cluster);
  const opened = await bob.call('/budget', { account: cluster });
  expect(opened.status, JSON.stringify(opened.body)).toBe(200);
  const start = opened.body.budgets[0].balance;

  const ownerContext = await browser.newContext();
  const owner = await ownerContext.newPage();
  const ownerErrors = collectErrors(owner);
  await signIn(owner, 'alice', { admin: true });
  await owner.goto(`/budgets/${cluster}`);
  await expect(owner.getByRole('heading', { level: 1 })).toHaveText(`Budget of ${cluster}`);
  await adjust(owner, `-${(start - 1).toFixed(2)}`, LEAVE);
  await expect(owner.getByTestId('budget-balance')).toHaveText('1.00 USD');

  const errors = collectErrors(page);
  const deploys = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/provisioner/deploy')) deploys.push(r);
  });
  // The cluster list warns about the low budget; so does the cluster's page.
  await signIn(page, 'bob');
  await expect(page.getByTestId('budget-warning')).toContainText('bob has 1.00 USD left');
  await card(page, cluster).getByRole('link', { name: cluster }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Cluster ${cluster}`);
  await expect(page.getByTestId('budget-warning')).toContainText('bob has 1.00 USD left');
  const deploy = area(page, 'Deploy');
  const nodes = deploy.getByLabel('Nodes', { exact: true });
  const ttl = deploy.getByLabel('Time to live (minutes)', { exact: true });
  const submit = deploy.getByRole('button', { name: 'Deploy', exact: true });
  await nodes.fill('3');
  await ttl.fill('60');
  await expect(page.getByTestId('deploy-funds')).toContainText(REFUSAL);
  await expect(submit).toBeDisabled();
  // The longest time it affords fits, and its cost is shown.
  await ttl.fill('35');
  await expect(page.getByTestId('deploy-funds')).toHaveCount(0);
  await expect(page.getByTestId('deploy-cost')).toContainText('Projected cost: 0.99 USD, paid from the budget of bob');
  await ttl.fill('60');
  await expect(submit).toBeDisabled();
  await screenshots(page, 'deploy-refused-for-funds');
  expect(deploys).toHaveLength(0);

  // An owner's credit, then the same deploy goes through.
  await adjust(owner, '10', WORKSHOP);
  await expect(owner.getByTestId('budget-balance')).toHaveText('11.00 USD');
  await page.reload();
  await nodes.fill('3');
  await ttl.fill('60');
  await expect(page.getByTestId('deploy-cost')).toContainText('Projected cost: 1.70 USD');
  await expect(page.getByTestId('deploy-funds')).toHaveCount(0);
  await submit.click();
  await expect(page.getByTestId('cluster-state')).toHaveText(/Deploying|Running/);
  expect(deploys).toHaveLength(1);

  // The budget page: chart with the forecast, and the ledger with both adjustments.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Budgets' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Budgets');
  await page.getByRole('link', { name: cluster, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Budget of ${cluster}`);
  const chart = page.getByTestId('balance-chart');
  await expect(chart).toBeVisible();
  await expect(chart).toHaveAttribute('aria-label', /runs out at/);
  await expect(page.locator('.chart-forecast')).toHaveCount(1);
  await expect(page.getByRole('row').filter({ hasText: `${WORKSHOP} (alice)` })).toHaveCount(1);
  await expect(page.getByRole('row').filter({ hasText: `${LEAVE} (alice)` })).toHaveCount(1);
  // Members read; only owners adjust.
  await expect(page.getByRole('heading', { level: 2, name: 'Credit or debit' })).toHaveCount(0);
  await screenshots(page, 'budget');
  await expectNoSeriousAxeViolations(page);

  await owner.reload();
  await expect(owner.getByRole('heading', { level: 2, name: 'Allowance and cap' })).toBeVisible();
  await screenshots(owner, 'budget-owner');
  await expectNoSeriousAxeViolations(owner);
  // Back to where it started, less what the journey's cluster costs.
  await adjust(owner, (start - 11).toFixed(2), `e2e ${run}: restore`);
  await ownerContext.close();
  expect(errors).toEqual([]);
  expect(ownerErrors).toEqual([]);
});
