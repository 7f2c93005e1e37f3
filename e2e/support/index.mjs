// Helpers shared by the browser tests. Locators follow the UI contract (accessible names and
// roles, `data-testid` only where the contract names one).
import { expect } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export const artifacts = path.resolve(import.meta.dirname, '..', 'artifacts');

/** The demo's users: alice owns the organization, bob (team icesat2) and carol are members,
 * dave is a GitHub user outside it. Each has the PAT `demo-pat-<login>`. */
export const USERS = { owner: 'alice', member: 'bob', otherMember: 'carol', outsider: 'dave' };

/** Where the emulated GitHub's pages live on the authenticator's origin. */
const GITHUB_AUTHORIZE = /\/_github\/login\/oauth\/authorize/;

/** localStorage key of the refresh token. */
export const REFRESH_TOKEN_KEY = 'sliderule.refresh_token';

/** The path (with no query) a URL ends on. */
function pathOf(url) {
  return new URL(url).pathname;
}

/**
 * Signs `login` in through the UI: opens `from`, clicks "Sign in with GitHub" (after checking
 * "Sign in as administrator" when `admin`), picks the user on the emulated GitHub authorize page
 * and waits until the app is back on `returnTo` (default: `/clusters` from `/`, else `from`) with
 * no `code`/`state` left in the URL. `from: null` starts on whatever page is open.
 * Returns the URL of the `/auth/github/login` request (PKCE parameters, state).
 */
export async function signIn(page, login, { admin = false, from = '/', returnTo } = {}) {
  if (from !== null) await page.goto(from);
  const expected = returnTo ?? (from === '/' || from === null ? '/clusters' : pathOf(new URL(from, 'http://x')));
  const signInButton = page.getByRole('button', { name: 'Sign in with GitHub' });
  await expect(signInButton).toBeVisible();
  if (admin) await page.getByRole('checkbox', { name: 'Sign in as administrator' }).check();
  const loginRequest = page.waitForRequest((r) => pathOf(r.url()) === '/auth/github/login');
  await signInButton.click();
  const loginUrl = new URL((await loginRequest).url());
  await expect(page).toHaveURL(GITHUB_AUTHORIZE);
  await page.getByRole('button', { name: login, exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === expected && url.search === '', {
    timeout: 15_000,
  });
  return loginUrl;
}

/**
 * Console errors and uncaught exceptions of `page`, collected from now on. `ignore`: patterns of
 * messages that are expected (Chromium logs every 4xx answer to fetch as a console error, so a
 * test that provokes one lists it here).
 */
export function collectErrors(page, { ignore = [] } = {}) {
  const errors = [];
  const expected = (text) => ignore.some((pattern) => pattern.test(text));
  page.on('console', (message) => {
    if (message.type() !== 'error' || expected(message.text())) return;
    // A cluster that was never deployed answers /status with 404 does_not_exist, which the page
    // shows as "Not deployed", and so does a node group (/status/<user>) that was never added;
    // Chromium still logs every 404 fetch.
    const url = message.location()?.url ?? '';
    if (/status of 404/.test(message.text()) && /\/provisioner\/status(\/[a-z0-9-]+)?$/.test(url)) return;
    errors.push(`${message.text()} (${url})`);
  });
  page.on('pageerror', (error) => {
    if (!expected(error.message)) errors.push(error.message);
  });
  return errors;
}

/**
 * Full-page screenshots of the page as it is, at 1440 px wide and at 360x780 (a phone), written to
 * e2e/artifacts/<name>-1440.png and <name>-360.png. The viewport is put back afterwards.
 */
export async function screenshots(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const original = page.viewportSize() ?? { width: 1440, height: 900 };
  if (original.width !== 1440) await page.setViewportSize({ width: 1440, height: original.height });
  await page.screenshot({ path: path.join(artifacts, `${name}-1440.png`), fullPage: true });
  await page.setViewportSize({ width: 360, height: 780 });
  // Let layout settle at the new width (two animation frames), then take the picture.
  await page.evaluate(() => new Promise((resolve) => {
    requestAnimationFrame(() => requestAnimationFrame(resolve));
  }));
  await page.screenshot({ path: path.join(artifacts, `${name}-360.png`), fullPage: true });
  await page.setViewportSize(original);
}

/** Formats one axe violation as readable lines: id, impact, help, and each node's target. */
function describeViolation(violation) {
  const nodes = violation.nodes
    .map((node) => `    at ${node.target.join(' ')}${node.failureSummary
      ? `\n      ${node.failureSummary.replace(/\n/g, '\n      ')}` : ''}`)
    .join('\n');
  return `${violation.id} (${violation.impact}): ${violation.help}\n  ${violation.helpUrl}\n${nodes}`;
}

/** Runs axe on the page and fails listing every serious or critical violation. */
export async function expectNoSeriousAxeViolations(page, { exclude = [] } = {}) {
  let builder = new AxeBuilder({ page });
  for (const selector of exclude) builder = builder.exclude(selector);
  const results = await builder.analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = serious.map(describeViolation).join('\n');
  expect(serious.length, `serious or critical axe violations on ${page.url()}:\n${report}`).toBe(0);
}

// --- The API, for arranging state a journey needs and for cleaning up after it ----------------

/** The deployment's config.json (authenticator_url, provisioner_url, …). */
export async function serviceConfig(request, baseURL) {
  const answer = await request.get(new URL('/config.json', baseURL).href);
  expect(answer.ok(), `GET /config.json: ${answer.status()}`).toBeTruthy();
  return answer.json();
}

/** An API session for `login` through its demo PAT (`POST /auth/github/pat`). */
export async function apiSession(request, baseURL, login) {
  const config = await serviceConfig(request, baseURL);
  const answer = await request.post(`${config.authenticator_url.replace(/\/$/, '')}/auth/github/pat`, {
    data: { pat: `demo-pat-${login}` },
  });
  expect(answer.ok(), `PAT login of ${login}: ${answer.status()} ${await answer.text()}`).toBeTruthy();
  const { token } = await answer.json();
  const provisioner = config.provisioner_url.replace(/\/$/, '');
  const call = async (endpoint, body) => {
    const response = await request.post(`${provisioner}${endpoint}`, {
      data: body,
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status(), body: await response.json().catch(() => null) };
  };
  return {
    token,
    call,
    deploy: (cluster, nodeCapacity, ttl) => call('/deploy', { cluster, node_capacity: nodeCapacity, ttl }),
    destroy: (cluster) => call('/destroy', { cluster }),
    status: (cluster) => call('/status', { cluster }),
  };
}

/** Destroys `cluster` as `login` if it is deployed (cleanup; never fails the test). */
export async function destroyIfDeployed(request, baseURL, login, cluster) {
  try {
    const api = await apiSession(request, baseURL, login);
    await api.destroy(cluster);
  } catch (error) {
    console.warn(`cleanup: could not destroy ${cluster}: ${error.message}`);
  }
}

/** POSTs form fields to the authenticator (revoke, token). */
export async function authenticatorForm(request, baseURL, endpoint, form) {
  const config = await serviceConfig(request, baseURL);
  const answer = await request.post(`${config.authenticator_url.replace(/\/$/, '')}${endpoint}`, { form });
  return { status: answer.status(), body: await answer.json().catch(() => null) };
}

/** The grant_type of a token-endpoint request, whether its body is form-encoded or JSON. */
export function grantType(request) {
  const body = request.postData() ?? '';
  try {
    return JSON.parse(body).grant_type ?? null;
  } catch {
    return new URLSearchParams(body).get('grant_type');
  }
}

/** Whether `response` answers a POST to the token endpoint with this grant type. */
export function isTokenGrant(response, grant) {
  return new URL(response.url()).pathname === '/auth/github/token'
    && response.request().method() === 'POST'
    && grantType(response.request()) === grant;
}

/** The refresh token the app keeps in localStorage. */
export function storedRefreshToken(page) {
  return page.evaluate((key) => localStorage.getItem(key), REFRESH_TOKEN_KEY);
}

// --- Page regions ------------------------------------------------------------------------------

/** The section (or form) headed by an h2 named `name`. */
export function area(page, name) {
  return page
    .locator('section, form')
    .filter({ has: page.getByRole('heading', { level: 2, name, exact: true }) })
    .last();
}

/** The value (`dd`) of the term (`dt`) `term` in a description list, e.g. on /account. */
export function described(page, term) {
  return page.getByRole('term').filter({ hasText: new RegExp(`^\\s*${term}\\s*$`) })
    .locator('xpath=following-sibling::dd[1]');
}

/** The cluster card `name` on /clusters. */
export function card(page, name) {
  return page.getByRole('article', { name, exact: true });
}

/** The demo's local accounts (organizations.md): erin belongs to icesat2, frank to nothing. */
export const LOCAL_USERS = { member: 'erin', outsider: 'frank' };

/**
 * Signs a local account in through "Sign in with a username" on the landing page (its demo
 * password is `demo-password-<username>`) and waits for `/clusters`.
 */
export async function signInLocal(page, username, { password = `demo-password-${username}` } = {}) {
  await page.goto('/');
  const form = page.locator('form').filter({ has: page.getByLabel('Username', { exact: true }) });
  await form.getByLabel('Username', { exact: true }).fill(username);
  await form.getByLabel('Password', { exact: true }).fill(password);
  await form.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL((url) => url.pathname === '/clusters', { timeout: 15_000 });
}
