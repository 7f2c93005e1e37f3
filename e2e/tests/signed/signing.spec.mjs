// Journey 10: owners' request signing (provisioner.md, "Request signing"), on a demo that requires
// it. An owner's Report is refused with what to do; the Account page makes this browser's
// Ed25519 key (non-extractable, kept in IndexedDB) and shows its public key line; once an
// operator registers that line, the Report works, its requests signed.
import { test, expect } from '@playwright/test';
import { readFileSync, writeFileSync } from 'node:fs';
import { collectErrors, expectNoSeriousAxeViolations, screenshots, signIn } from '../../support/index.mjs';

test('an owner\'s browser makes a signing key, and once it is registered its requests are signed', async ({ page }) => {
  const errors = collectErrors(page, { ignore: [/status of 401/] });
  await signIn(page, 'alice', { admin: true });
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Report' }).click();
  await expect(page.getByRole('alert')).toContainText('create one on the Account page');

  await nav.getByRole('link', { name: 'Account' }).click();
  await page.getByRole('button', { name: 'Create a signing key' }).click();
  const line = page.getByTestId('signing-key');
  await expect(line).toHaveText(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\S+ sliderule-web$/);
  await screenshots(page, 'account-signing-key');
  await expectNoSeriousAxeViolations(page);

  // The operator registers it (the keys file is re-read when it changes).
  writeFileSync(process.env.E2E_SIGNED_KEYS, JSON.stringify({ alice: (await line.textContent()).trim() }));
  expect(JSON.parse(readFileSync(process.env.E2E_SIGNED_KEYS, 'utf8')).alice).toMatch(/^ssh-ed25519 /);

  const signed = page.waitForRequest((r) => new URL(r.url()).pathname.endsWith('/provisioner/report/clusters'));
  await nav.getByRole('link', { name: 'Report' }).click();
  const request = await signed;
  expect(request.headers()['x-sliderule-signature']).toMatch(/^[A-Za-z0-9+/]{86}==$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Report');
  await expect(page.getByRole('table')).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  expect(errors).toEqual([]);
});
