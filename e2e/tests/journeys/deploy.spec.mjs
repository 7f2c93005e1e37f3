// Journey 2 on the simulated cloud (--cloud-delay 0.2): deploy → DEPLOYING → RUNNING with nodes
// joining → extend → events → destroy → "Not deployed". bob's personal cluster "bob".
import { test } from '@playwright/test';
import { destroyIfDeployed } from '../../support/index.mjs';
import { deployJourney } from '../../support/deploy-journey.mjs';

test.afterEach(async ({ request, baseURL }) => {
  // The simulated cloud is shared by the whole run: never leave "bob" deployed.
  await destroyIfDeployed(request, baseURL, 'bob', 'bob');
});

test('a member deploys, watches nodes join, extends, reads events and destroys a cluster', async ({ page }) => {
  await deployJourney(page, { login: 'bob', stepwise: true, shots: true });
});
