#!/usr/bin/env node
// The moto-backed backend for the browser tests, started by Playwright as a webServer:
//   node e2e/support/moto-stack.mjs
// 1. starts moto_server ($MOTO_SERVER, else the venv scripts/lib/setup.sh installs) on
//    $E2E_MOTO_AWS_PORT and waits until it answers;
// 2. reads moto's default VPC and its default subnets (EC2 over moto's HTTP API, as
//    crates/backend/tests/api/moto.rs does);
// 3. starts `sliderule-backend demo` (emulated GitHub) with the CloudFormation driver pointed at
//    moto, on $E2E_MOTO_PORT with the data directory $E2E_MOTO_DATA_DIR.
// Both children are killed when this process ends (Playwright ends the whole process group at the
// end of the run; a signal or the parent's death ends it too), so nothing outlives the run.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

const REGION = 'us-west-2';
const root = path.resolve(import.meta.dirname, '..', '..');

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`moto-stack: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const awsPort = required('E2E_MOTO_AWS_PORT');
const port = required('E2E_MOTO_PORT');
const dataDir = required('E2E_MOTO_DATA_DIR');
const backend = process.env.E2E_BACKEND ?? path.join(root, 'target/debug/sliderule-backend');
const dist = path.join(root, 'dist');

function motoServer() {
  if (process.env.MOTO_SERVER) return process.env.MOTO_SERVER;
  const cache = process.env.SRDEV_TOOLS_CACHE
    ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'sliderule-dev');
  const venv = path.join(cache, 'moto-venv', 'bin', 'moto_server');
  return existsSync(venv) ? venv : 'moto_server';
}

const children = [];
let stopping = false;

function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  // The backend drains for up to its grace period; do not wait for it.
  setTimeout(() => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    process.exit(code);
  }, 2000).unref();
  if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(code);
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => stop(0));
process.on('exit', () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
// Orphaned (Playwright died without ending us): stop rather than linger.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop(1);
}, 1000).unref();

function start(name, command, args, env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk) => process.stdout.write(chunk));
  // moto logs every request on stderr: keep only the backend's.
  child.stderr.on('data', (chunk) => {
    if (name !== 'moto') process.stderr.write(chunk);
  });
  child.on('error', (error) => {
    console.error(`moto-stack: cannot start ${name} (${command}): ${error.message}`);
    stop(1);
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`moto-stack: ${name} exited (${signal ?? code})`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

const endpoint = `http://127.0.0.1:${awsPort}`;

// An Authorization header naming the service: moto picks the service from it.
function authorization(service) {
  return `AWS4-HMAC-SHA256 Credential=test/20260101/${REGION}/${service}/aws4_request, `
    + 'SignedHeaders=host, Signature=0';
}

function xmlValues(xml, tag) {
  return [...xml.matchAll(new RegExp(`<${tag}>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]);
}

async function waitForMoto() {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const answer = await fetch(`${endpoint}/moto-api/`);
      if (answer.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('moto_server did not answer within 30 s');
}

async function defaultNetwork() {
  const answer = await fetch(endpoint, {
    method: 'POST',
    headers: {
      authorization: authorization('ec2'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      Action: 'DescribeSubnets',
      Version: '2016-11-15',
      'Filter.1.Name': 'default-for-az',
      'Filter.1.Value.1': 'true',
    }),
  });
  const text = await answer.text();
  const subnets = xmlValues(text, 'subnetId');
  const vpc = xmlValues(text, 'vpcId')[0];
  if (!answer.ok || !vpc || subnets.length === 0) {
    throw new Error(`no default subnets in moto's answer: ${answer.status} ${text.slice(0, 500)}`);
  }
  return { vpc, subnets };
}

try {
  start('moto', motoServer(), ['-H', '127.0.0.1', '-p', awsPort], process.env);
  await waitForMoto();
  const { vpc, subnets } = await defaultNetwork();
  console.log(`moto-stack: moto on ${endpoint}, VPC ${vpc}, subnets ${subnets.join(',')}`);

  const env = { ...process.env };
  // Nothing from the developer's AWS setup leaks in: fixed fake credentials, no profile.
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_') || name.startsWith('SLIDERULE_')) delete env[name];
  }
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    SLIDERULE_PROVISIONER__CLOUD: 'cloudformation',
    SLIDERULE_PROVISIONER__PARAMETERS: `{ VpcId = "${vpc}", SubnetIds = "${subnets.join(',')}" }`,
    SLIDERULE_AWS__REGION: REGION,
    SLIDERULE_AWS__ENDPOINT_URL: endpoint,
    // Many sign-ins in a short run, all from 127.0.0.1.
    SLIDERULE_AUTHENTICATOR__RATE_LIMIT_BURST: '1000',
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
  });
  start('sliderule-backend', backend, [
    'demo', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir, '--dist', dist,
  ], env);
} catch (error) {
  console.error(`moto-stack: ${error.message}`);
  stop(1);
}
