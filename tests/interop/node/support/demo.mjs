// The backend under test: `sliderule-backend demo` (the binary SLIDERULE_BACKEND_BIN names, by
// default target/debug/sliderule-backend) over TLS with host-based routing for the domain
// `sliderule.test:PORT`, as tests/interop/client/test_official_client.py runs it for the Python
// client. A throw-away CA (made with the openssl command) signs its certificate for
// `sliderule.test`, `*.sliderule.test` and 127.0.0.1.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');
export const DOMAIN_NAME = 'sliderule.test';
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 20_000;

function backendBinary() {
  const binary = process.env.SLIDERULE_BACKEND_BIN
    || path.join(ROOT, 'target', 'debug', 'sliderule-backend');
  if (!existsSync(binary)) {
    throw new Error(`no backend binary at ${binary}: run \`cargo build -p sliderule-backend\` `
      + 'or set SLIDERULE_BACKEND_BIN');
  }
  return binary;
}

function openssl(args, cwd) {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT') {
      throw new Error('the openssl command, which makes the test CA, is not installed');
    }
    throw new Error(`openssl ${args[0]} failed: ${error.stderr ?? error.message}`);
  }
}

/** A CA and a server certificate it signs; returns the paths of the CA, chain and key. */
function writeCertificates(directory) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1',
    '-subj', '/CN=sliderule node interop test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], directory);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr',
    '-subj', `/CN=${DOMAIN_NAME}`], directory);
  writeFileSync(path.join(directory, 'server.ext'), [
    `subjectAltName=DNS:${DOMAIN_NAME},DNS:*.${DOMAIN_NAME},IP:127.0.0.1`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
  ].join('\n'));
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-days', '1', '-extfile', 'server.ext', '-out', 'server.pem'], directory);
  return {
    ca: path.join(directory, 'ca.pem'),
    cert: path.join(directory, 'server.pem'),
    key: path.join(directory, 'server.key'),
  };
}

/** A port free right now: the domain must name the port before the backend binds it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `dns.lookup` for the test domain: `sliderule.test` and its subdomains are 127.0.0.1. */
function lookupTestDomain(hostname, options, callback) {
  const name = hostname.toLowerCase();
  if (name !== DOMAIN_NAME && !name.endsWith(`.${DOMAIN_NAME}`)) {
    callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
  } else if (options?.all) {
    callback(null, [{ address: '127.0.0.1', family: 4 }]);
  } else {
    callback(null, '127.0.0.1', 4);
  }
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves when the backend prints `listening on …`; rejects if it exits or takes too long. */
function listening(child, output) {
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => {
      reject(new Error(`the backend did not listen within ${STARTUP_TIMEOUT_MS / 1000} s:\n`
        + output.join('')));
    }, STARTUP_TIMEOUT_MS);
    const onData = (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      if (lines.some((line) => line.startsWith('listening on '))) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code, signal) => {
      clearTimeout(timer);
      const why = signal ?? code;
      reject(new Error(`the backend exited (${why}) before listening:\n${output.join('')}`));
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start the backend: ${error.message}`));
    });
  });
}

/**
 * Starts the demo; resolves once it listens. The result has `domain` (`sliderule.test:PORT`),
 * `agent` (an https.Agent that resolves the test domain to 127.0.0.1 and trusts the test CA),
 * `output` (what the backend printed) and `stop()`, which must be called (it is safe to call
 * more than once, and also runs if this process exits first).
 */
export async function startDemo({ cloudDelaySecs = '0.05' } = {}) {
  const scratch = mkdtempSync(path.join(tmpdir(), 'sliderule-nodeclient-'));
  let child;
  const stop = async () => {
    if (child && !exited(child)) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await gone;
      clearTimeout(timer);
    }
    rmSync(scratch, { recursive: true, force: true });
  };
  const killOnExit = () => {
    if (child && !exited(child)) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  try {
    const files = writeCertificates(scratch);
    const port = await freePort();
    const domain = `${DOMAIN_NAME}:${port}`;
    // Our own SLIDERULE_ variables would reconfigure the backend under test.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('SLIDERULE_')),
    );
    env.RUST_LOG = 'warn';
    // The demo calls its own GitHub emulator at https://login.DOMAIN/_github: trust the test CA.
    env.SSL_CERT_FILE = files.ca;
    const dist = path.join(scratch, 'dist');
    mkdirSync(dist);
    child = spawn(backendBinary(), [
      'demo', '--bind', `127.0.0.1:${port}`, '--data-dir', path.join(scratch, 'data'),
      '--dist', dist, '--domain', domain, '--tls-cert', files.cert, '--tls-key', files.key,
      '--cloud-delay', cloudDelaySecs,
    ], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    // Drain both pipes (the JSON log shares stdout; a full pipe would stall the backend).
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    await listening(child, output);
    const agent = new https.Agent({
      ca: readFileSync(files.ca),
      lookup: lookupTestDomain,
      keepAlive: true,
    });
    return {
      domain,
      agent,
      output,
      async stop() {
        agent.destroy();
        await stop();
        process.off('exit', killOnExit);
      },
    };
  } catch (error) {
    await stop();
    process.off('exit', killOnExit);
    throw error;
  }
}
