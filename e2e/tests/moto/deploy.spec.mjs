// Journey 2 against the CloudFormation driver on moto (the "moto" project, baseURL E2E_MOTO_URL):
// the same journey as on the simulated cloud, through real CloudFormation API calls. moto
// completes every operation before answering, so intermediate states are not required.
import { test } from '@playwright/test';
import { destroyIfDeployed } from '../../support/index.mjs';
import { deployJourney } from '../../support/deploy-journey.mjs';

test.afterEach(async ({ request, baseURL }) => {
  await destroyIfDeployed(request, baseURL, 'bob', 'bob');
});

test('on CloudFormation (moto): deploy, run, extend, events, destroy', async ({ page }) => {
  await deployJourney(page, { login: 'bob', stepwise: false, shots: false });
});
