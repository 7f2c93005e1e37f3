// The official SlideRule Node.js client (npm `@sliderule/sliderule`, pinned in the root
// package.json, unmodified) against our backend. Run by scripts/test.sh; alone:
//   SLIDERULE_BACKEND_BIN=… node --test tests/interop/node/official-client.test.mjs
//
// What the client (5.6.0, core.js) does on the wire, read from its source:
// - Login, `core.init({domain, organization, github_token, ...})` or `core.authenticate(pat)`: the
//   PAT is the argument, else `SLIDERULE_GITHUB_TOKEN` (none: it logs "Failed to find token for
//   login.<domain>" and sends nothing). `POST https://login.<domain>/auth/github/pat` with
//   `Content-Type: application/json`, `Content-Length` and the body `{"pat":"<pat>"}`. It keeps
//   `token` and computes an expiry from `metadata.exp` (seconds) and `Date.now()` (milliseconds),
//   `(exp - now) / 2 + now`, which it returns; nothing reads it (no refresh, no device flow).
// - Its only other request, `core.source(api, parm, stream)` (and `get_version()`, which is
//   `source('version')`): `GET` (`POST` when streaming)
//   `https://<organization>.<domain>/source/<api>` with `Authorization: Bearer <token>` (`Bearer
//   null` before a login) and, given `parm`, a JSON body. It has no provisioner functions (no
//   deploy, extend, destroy, status, events or report), and `source` cannot name a provisioner
//   path: everything it sends is under `/source/`.
// - Responses: it accepts only status 200 with `Content-Type` exactly `application/json` or
//   `text/plain` (JSON-parsed) or `application/octet-stream` (records). Any other status is an
//   error; a 200 with another content type (`application/json; charset=utf-8`, say) never settles.
// - Errors: every request is tried twice; each failure is logged with `console.log("retrying http
//   request: Error: server returned <status>")`, and after the second the call resolves to
//   `undefined` instead of rejecting. A failed login then logs `console.error("Error processing
//   authentication response\n", undefined)` and resolves to 0, keeping whatever token it had.
// - TLS and hosts: `sysConfig.protocol` (Node's `https` unless `init({protocol})` gives another)
//   makes every request from `{host, path, method, headers}`, with Node's default verification
//   (so a private CA is trusted only through NODE_EXTRA_CA_CERTS, read at process start). There
//   is no port option and Node does not read one out of `host`, so the test gives `protocol` an
//   `https` that honours `host:port`, resolves the test domain to 127.0.0.1, trusts the test CA
//   and records what goes over the wire (support/client.mjs). The backend is the real demo
//   binary over TLS on `sliderule.test:PORT` (support/demo.mjs).
//
// So the client's own calls here are its logins and `source`. The provisioner journey (deploy,
// status, events, extend, destroy, refusals) is made by the test with the token the client
// obtained, in the client's request style, since the client offers no way to make it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as pause } from 'node:timers/promises';

import { freshClient, post, recordingProtocol } from './support/client.mjs';
import { startDemo } from './support/demo.mjs';

// A call of the client's that never settles (see above) fails its test at this timeout.
const CLIENT_TIMEOUT_MS = 15_000;
const RUNNING_TIMEOUT_MS = 20_000;

// A developer's own token must neither reach the demo nor change what the client does here.
delete process.env.SLIDERULE_GITHUB_TOKEN;

let demo;

before(async () => {
  demo = await startDemo();
});

after(async () => {
  await demo?.stop();
});

/** A fresh client configured for the demo, and the exchanges it makes. */
function client(organization) {
  const exchanges = [];
  const { core } = freshClient();
  const protocol = recordingProtocol(demo, exchanges);
  return { core, config: { domain: demo.domain, organization, protocol }, exchanges };
}

function decodeJwtPart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/** Asserts one PAT login exchange as the client makes it; returns the parsed response body. */
function assertPatLogin(exchange, pat) {
  assert.equal(exchange.method, 'POST');
  assert.equal(exchange.path, '/auth/github/pat');
  assert.equal(exchange.headers.host, `login.${demo.domain}`);
  assert.equal(exchange.headers['content-type'], 'application/json');
  assert.equal(exchange.body, JSON.stringify({ pat }));
  assert.equal(exchange.headers['content-length'], exchange.body.length);
  assert.equal(exchange.headers.authorization, undefined);
  assert.equal(exchange.response.status, 200, exchange.response.body);
  // Anything else (a charset parameter, say) and the client's promise would never settle.
  assert.equal(exchange.response.headers['content-type'], 'application/json');
  return JSON.parse(exchange.response.body);
}

/** The console lines the client writes during `run`: `{log: [...], error: [...]}`. */
async function consoleOf(t, run) {
  const log = t.mock.method(console, 'log', () => {});
  const error = t.mock.method(console, 'error', () => {});
  const result = await run();
  const lines = (mock) => mock.mock.calls.map((call) => call.arguments.map(String).join(' '));
  const written = { log: lines(log), error: lines(error) };
  log.mock.restore();
  error.mock.restore();
  return { result, ...written };
}

/** A test of calls to the client: one that never settles fails it at CLIENT_TIMEOUT_MS. */
function clientTest(name, fn, timeout = CLIENT_TIMEOUT_MS) {
  test(name, { timeout }, fn);
}

/** Logs `login` in through the client; returns the token it received and holds. */
async function tokenFor(login) {
  const { core, config, exchanges } = client(login);
  await core.init({ ...config, github_token: `demo-pat-${login}` });
  assert.equal(exchanges.length, 1);
  return assertPatLogin(exchanges[0], `demo-pat-${login}`).token;
}

describe('login with a personal access token', () => {
  clientTest('init() logs in with the PAT it is given', async () => {
    const { core, config, exchanges } = client('bob');
    const before = Math.floor(Date.now() / 1000);
    await core.init({ ...config, github_token: 'demo-pat-bob' });

    assert.equal(exchanges.length, 1);
    const body = assertPatLogin(exchanges[0], 'demo-pat-bob');
    assert.equal(body.status, 'success');
    const [header, claims] = body.token.split('.').slice(0, 2).map(decodeJwtPart);
    assert.equal(header.alg, 'RS256');
    assert.ok(header.kid, 'the token names its key');
    // The client reads `metadata.exp`; the rest is for people and the Python client.
    const { metadata } = body;
    assert.equal(typeof metadata.exp, 'number');
    assert.equal(metadata.exp, claims.exp);
    assert.ok(metadata.exp > before, `exp ${metadata.exp} is in the future`);
    assert.equal(metadata.sub, 'bob');
    assert.equal(claims.sub, 'bob');
    assert.equal(claims.iss, `https://login.${demo.domain}`);
    assert.deepEqual(metadata.org_roles, ['member']);
    assert.ok(metadata.aud.includes('provisioner') && metadata.aud.includes('bob'), metadata.aud);
  });

  clientTest('authenticate() reads SLIDERULE_GITHUB_TOKEN, prefers its argument', async (t) => {
    t.after(() => delete process.env.SLIDERULE_GITHUB_TOKEN);
    process.env.SLIDERULE_GITHUB_TOKEN = 'demo-pat-bob';
    const { core, config, exchanges } = client('bob');
    await core.init(config);
    const startedMs = Date.now();
    const expiration = await core.authenticate();
    const endedMs = Date.now();
    const fromArgument = await core.authenticate('demo-pat-carol');

    assert.equal(exchanges.length, 3);
    assert.equal(assertPatLogin(exchanges[0], 'demo-pat-bob').metadata.sub, 'bob');
    const { exp } = assertPatLogin(exchanges[1], 'demo-pat-bob').metadata;
    assert.equal(assertPatLogin(exchanges[2], 'demo-pat-carol').metadata.sub, 'carol');
    // (exp − now) / 2 + now, with exp in seconds and now in milliseconds. The upstream jest test
    // asks only for a number above 0, which a missing `metadata.exp` (NaN) would fail.
    assert.ok(expiration >= (exp + startedMs) / 2 && expiration <= (exp + endedMs) / 2,
      `expiration ${expiration} for exp ${exp}`);
    assert.ok(fromArgument > 0);
  });

  clientTest('a non-member logs in too, with a token of no roles', async () => {
    const { core, config, exchanges } = client('dave');
    await core.init({ ...config, github_token: 'demo-pat-dave' });
    const { metadata } = assertPatLogin(exchanges[0], 'demo-pat-dave');
    assert.equal(metadata.sub, 'dave');
    assert.deepEqual(metadata.org_roles, []);
    assert.equal(metadata.max_nodes, 0);
  });
});

describe('refusals, as the client surfaces them', () => {
  clientTest('a bad PAT: 401 twice, logged, and authenticate() resolves to 0', async (t) => {
    const { core, config, exchanges } = client('bob');
    const { result, log, error } = await consoleOf(t, async () => {
      await core.init(config); // no token anywhere: a message, no request
      return core.authenticate('demo-pat-nobody');
    });

    assert.equal(result, 0);
    assert.equal(exchanges.length, 2, 'the client tries every request twice');
    for (const exchange of exchanges) {
      assert.equal(exchange.path, '/auth/github/pat');
      assert.equal(exchange.body, '{"pat":"demo-pat-nobody"}');
      assert.equal(exchange.response.status, 401);
      const body = JSON.parse(exchange.response.body);
      assert.equal(body.error, 'invalid_token');
      assert.match(body.error_description, /GitHub does not accept this token/);
    }
    assert.deepEqual(log, Array(2).fill('retrying http request: Error: server returned 401'));
    assert.deepEqual(error, [
      `Failed to find token for login.${demo.domain}`,
      'Error processing authentication response\n undefined',
    ]);
  });

  clientTest('source(), its only other call, cannot reach the provisioner', async (t) => {
    const { core, config, exchanges } = client('provisioner');
    await core.init({ ...config, github_token: 'demo-pat-bob' });
    const token = assertPatLogin(exchanges[0], 'demo-pat-bob').token;
    const { result, log } = await consoleOf(t, () => core.source('status', { cluster: 'bob' }));

    assert.equal(result, undefined);
    assert.deepEqual(log, Array(2).fill('retrying http request: Error: server returned 404'));
    const calls = exchanges.slice(1);
    assert.equal(calls.length, 2);
    for (const exchange of calls) {
      assert.equal(exchange.method, 'GET');
      assert.equal(exchange.headers.host, `provisioner.${demo.domain}`);
      assert.equal(exchange.path, '/source/status');
      assert.equal(exchange.headers.authorization, `Bearer ${token}`);
      assert.equal(exchange.body, '{"cluster":"bob"}');
      assert.equal(exchange.response.status, 404);
      assert.equal(JSON.parse(exchange.response.body).error, 'not_found');
    }
  });

  clientTest("bob's token: another member's cluster is 403, over his limit 422", async () => {
    const token = await tokenFor('bob');
    const carol = await post(demo, 'provisioner', 'deploy',
      { cluster: 'carol', is_public: false, node_capacity: 1, ttl: 15 }, token);
    assert.equal(carol.status, 403);
    assert.equal(carol.headers['content-type'], 'application/json');
    assert.match(carol.body.error_description, /you may not use cluster carol/);

    const tooMany = await post(demo, 'provisioner', 'deploy',
      { cluster: 'icesat2', is_public: false, node_capacity: 11, ttl: 15 }, token);
    assert.equal(tooMany.status, 422);
    assert.equal(tooMany.body.error, 'limit_exceeded');
    assert.match(tooMany.body.error_description, /11/);
  });

  clientTest("a non-member's token is refused the provisioner", async () => {
    const token = await tokenFor('dave');
    const refused = await post(demo, 'provisioner', 'deploy',
      { cluster: 'dave', is_public: false, node_capacity: 1, ttl: 15 }, token);
    assert.equal(refused.status, 403);
    assert.match(refused.body.error_description, /dave is not a member/);
  });
});

describe('a cluster with the token the client obtained', () => {
  clientTest('info, deploy, status, events, extend and destroy', async (t) => {
    const token = await tokenFor('bob');
    const call = (api, body) => post(demo, 'provisioner', api, body, token);
    t.after(() => call('destroy', { cluster: 'bob' }));

    const info = await call('info', {});
    assert.equal(info.status, 200);
    assert.equal(info.body.username, 'bob');
    assert.deepEqual(info.body.deployableClusters, ['bob', 'icesat2']);

    const deployed = await call('deploy',
      { cluster: 'bob', is_public: false, node_capacity: 1, ttl: 15, version: 'latest' });
    assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
    assert.equal(deployed.body.status, true);
    assert.equal(deployed.body.cluster, 'bob');
    assert.equal(deployed.body.stack_name, 'bob-cluster');
    assert.equal(deployed.body.state, 'DEPLOYING');
    assert.equal(deployed.body.owner, 'bob');
    assert.equal(deployed.body.node_capacity, 1);

    // The simulated cloud steps every 50 ms; its status is the only thing to wait on.
    const deadline = Date.now() + RUNNING_TIMEOUT_MS;
    let status;
    for (;;) {
      status = await call('status', { cluster: 'bob' });
      assert.equal(status.status, 200, JSON.stringify(status.body));
      if (status.body.state === 'RUNNING' || Date.now() > deadline) break;
      await pause(50);
    }
    assert.equal(status.body.state, 'RUNNING', JSON.stringify(status.body));
    assert.equal(status.body.response.StackStatus, 'CREATE_COMPLETE');
    assert.equal(status.body.current_nodes, 1);
    assert.ok(status.body.seconds_remaining > 0 && status.body.seconds_remaining <= 15 * 60);

    const events = await call('events', { cluster: 'bob' });
    assert.equal(events.status, 200);
    assert.ok(Array.isArray(events.body) && events.body.length > 0);
    assert.equal(events.body[0].ResourceStatus, 'CREATE_COMPLETE', 'newest first');
    assert.ok(events.body.every((e) => e.Timestamp && e.LogicalResourceId && e.ResourceType));

    const extended = await call('extend', { cluster: 'bob', ttl: 30 });
    assert.equal(extended.status, 200, JSON.stringify(extended.body));
    const remaining = extended.body.seconds_remaining;
    assert.ok(remaining > 15 * 60 && remaining <= 30 * 60, `seconds_remaining ${remaining}`);

    const destroyed = await call('destroy', { cluster: 'bob' });
    assert.equal(destroyed.status, 200, JSON.stringify(destroyed.body));
    assert.equal(destroyed.body.status, true);
    assert.equal(destroyed.body.cluster, 'bob');
    assert.ok(['DESTROYING', 'NOT_FOUND'].includes(destroyed.body.state), destroyed.body.state);
  }, RUNNING_TIMEOUT_MS + CLIENT_TIMEOUT_MS);
});
