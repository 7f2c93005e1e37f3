// Browser tests: the real release build of the web client, served by the real backend in demo
// mode on a free port, driven in Debian's Chromium (never a downloaded browser).
//
// Two backends, both started and stopped by Playwright:
// - "demo": `sliderule-backend demo` with the simulated cloud (--cloud-delay 0.2, so a deploy
//   runs in a few seconds); every spec under tests/ except tests/moto/ runs against it;
// - "moto": the same demo (emulated GitHub) with the CloudFormation driver pointed at moto
//   (support/moto-stack.mjs); the specs under tests/moto/ run against it. E2E_SKIP_MOTO=1 leaves
//   it out (quicker when working on one demo spec).
// E2E_BENCH=1 adds the "bench" project (bench/*.bench.mjs: measurements that print, never fail on
// a threshold).
// The base URLs are in E2E_BASE_URL and E2E_MOTO_URL for code that needs them outside `page`.
import { defineConfig } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Playwright evaluates this file again in every worker; workers inherit the environment, so
// ports and data directories are chosen once, in the main process.
process.env.E2E_PORT ??= String(await freePort());
// The data directories are only named here; the backends create them, and the global teardown
// removes them (so listing tests or a refused command line leaves nothing behind).
const runId = `${process.pid}-${Date.now().toString(36)}`;
process.env.E2E_DATA_DIR ??= path.join(tmpdir(), `sliderule-e2e-${runId}`);
const withMoto = process.env.E2E_SKIP_MOTO !== '1';
if (withMoto) {
  process.env.E2E_MOTO_PORT ??= String(await freePort());
  process.env.E2E_MOTO_AWS_PORT ??= String(await freePort());
  process.env.E2E_MOTO_DATA_DIR ??= path.join(tmpdir(), `sliderule-e2e-moto-${runId}`);
}
// A third demo requires owners to sign their requests (tests/signed/); its keys file is written by
// the journey, which registers the browser's key as an operator would.
process.env.E2E_SIGNED_PORT ??= String(await freePort());
process.env.E2E_SIGNED_DIR ??= path.join(tmpdir(), `sliderule-e2e-signed-${runId}`);
const signedDir = process.env.E2E_SIGNED_DIR;
process.env.E2E_SIGNED_KEYS = path.join(signedDir, 'owner-keys.json');
process.env.E2E_SIGNED_URL = `http://127.0.0.1:${process.env.E2E_SIGNED_PORT}`;
const port = process.env.E2E_PORT;
const baseURL = `http://127.0.0.1:${port}`;
process.env.E2E_BASE_URL = baseURL;
const motoURL = withMoto ? `http://127.0.0.1:${process.env.E2E_MOTO_PORT}` : undefined;
if (motoURL) process.env.E2E_MOTO_URL = motoURL;
const backend = process.env.E2E_BACKEND ?? path.join(root, 'target/debug/sliderule-backend');
process.env.E2E_BACKEND = backend;

export const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const demoServer = {
  command: [
    JSON.stringify(backend), 'demo',
    '--bind', `127.0.0.1:${port}`,
    '--data-dir', JSON.stringify(process.env.E2E_DATA_DIR),
    '--dist', JSON.stringify(path.join(root, 'dist')),
    '--cloud-delay', '0.2',
    // The public cluster per-user node groups attach to (journey 11).
    '--public-cluster', 'public',
  ].join(' '),
  url: `${baseURL}/health`,
  reuseExistingServer: false,
  timeout: 60_000,
  stdout: 'ignore',
  stderr: 'pipe',
  // Many sign-ins in a short run, all from 127.0.0.1: lift the sign-in rate limit's burst.
  env: { RUST_LOG: 'warn', SLIDERULE_AUTHENTICATOR__RATE_LIMIT_BURST: '1000' },
};

mkdirSync(signedDir, { recursive: true });
const signedConfig = path.join(signedDir, 'backend.toml');
writeFileSync(signedConfig, `[provisioner]\nrequire_owner_signatures = true\nowner_keys_file = ${JSON.stringify(process.env.E2E_SIGNED_KEYS)}\n`);
writeFileSync(process.env.E2E_SIGNED_KEYS, '{}');
const signedServer = {
  ...demoServer,
  command: [
    JSON.stringify(backend), 'demo',
    '--bind', `127.0.0.1:${process.env.E2E_SIGNED_PORT}`,
    '--data-dir', JSON.stringify(path.join(signedDir, 'data')),
    '--dist', JSON.stringify(path.join(root, 'dist')),
    '--config', JSON.stringify(signedConfig),
  ].join(' '),
  url: `${process.env.E2E_SIGNED_URL}/health`,
};

const motoServer = withMoto && {
  command: `node ${JSON.stringify(path.join(import.meta.dirname, 'support', 'moto-stack.mjs'))}`,
  url: `${motoURL}/health`,
  reuseExistingServer: false,
  timeout: 90_000,
  stdout: 'ignore',
  stderr: 'pipe',
  gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
};

const use = {
  browserName: 'chromium',
  headless: true,
  viewport: { width: 1440, height: 900 },
  launchOptions: { executablePath: '/usr/bin/chromium', args: chromiumArgs },
  // Also bounds waitForRequest/waitForResponse, so a missing UI fails in seconds, not at the
  // test timeout.
  actionTimeout: 15_000,
  trace: 'retain-on-failure',
  screenshot: 'only-on-failure',
};

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  globalTeardown: './support/global-teardown.mjs',
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use,
  projects: [
    {
      name: 'demo',
      testIgnore: ['moto/**', 'signed/**'],
      use: { ...use, baseURL },
    },
    { name: 'signed', testMatch: ['signed/**/*.spec.mjs'], use: { ...use, baseURL: process.env.E2E_SIGNED_URL } },
    ...(withMoto
      ? [{ name: 'moto', testMatch: ['moto/**/*.spec.mjs'], use: { ...use, baseURL: motoURL } }]
      : []),
    // Measurements, not tests: only with E2E_BENCH=1 (see README.md, "Measuring").
    ...(process.env.E2E_BENCH === '1'
      ? [{ name: 'bench', testDir: './bench', testMatch: ['*.bench.mjs'], use: { ...use, baseURL } }]
      : []),
  ],
  webServer: [demoServer, signedServer, ...(withMoto ? [motoServer] : [])],
});
