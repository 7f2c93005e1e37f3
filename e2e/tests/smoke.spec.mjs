// The landing page works in a real browser: it renders, offers sign-in, and logs no errors.
import { test, expect } from '@playwright/test';
import path from 'node:path';
import { artifacts, collectErrors } from '../support/index.mjs';

test('the landing page renders a sign-in control and logs no console errors', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign in with GitHub' })).toBeVisible();
  await page.screenshot({ path: path.join(artifacts, 'landing-1440.png'), fullPage: true });
  await page.setViewportSize({ width: 360, height: 780 });
  await expect(page.getByRole('button', { name: 'Sign in with GitHub' })).toBeVisible();
  await page.screenshot({ path: path.join(artifacts, 'landing-360.png'), fullPage: true });
  expect(errors).toEqual([]);
});

test('a deep link is served the app, which routes it', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/clusters');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  expect(errors).toEqual([]);
});

test('a missing config.json shows a full-page error, not a blank page', async ({ page }) => {
  await page.route('**/config.json', (route) => route.fulfill({ status: 404, body: 'not found' }));
  await page.goto('/');
  await expect(page.getByRole('alert')).toContainText('config.json');
  await expect(page.getByRole('button', { name: 'Sign in with GitHub' })).toHaveCount(0);
  await page.screenshot({ path: path.join(artifacts, 'missing-config-1440.png'), fullPage: true });
});
