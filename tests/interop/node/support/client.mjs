// The official client, loaded fresh per test, and the `protocol` it is given.
//
// The client makes every request with `sysConfig.protocol.request(options, callback)`, where
// `options` is `{host, path, method, headers}` and `protocol` is Node's `https` module unless
// `init({protocol})` says otherwise. Node's `https.request` does not read a port out of `host`
// (the client's `host` is `login.` + domain), so on its own the client reaches only port 443.
// `recordingProtocol` is the `https` module with three things added: it splits `host:port`, it
// connects through the demo's agent (test domain → 127.0.0.1, the test CA trusted), and it
// records each exchange. The client's options, headers and body go out as the client made them.
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/**
 * A new instance of `@sliderule/sliderule` (its configuration and credentials are module state,
 * so each test gets its own). Returns what `require('@sliderule/sliderule')` returns.
 */
export function freshClient() {
  const entry = require.resolve('@sliderule/sliderule');
  const directory = path.dirname(entry) + path.sep;
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(directory)) delete require.cache[key];
  }
  return require('@sliderule/sliderule');
}

function splitHost(host) {
  const match = /^(.*):(\d+)$/.exec(host);
  return match ? { hostname: match[1], port: Number(match[2]) } : { hostname: host, port: 443 };
}

/**
 * `https`, pointed at the demo, recording into `exchanges`: one
 * `{method, path, headers, body, response: {status, headers, body}}` per request, `headers` as
 * sent (with `host`), bodies as text.
 */
export function recordingProtocol(demo, exchanges) {
  return {
    request(options, callback) {
      const { hostname, port } = splitHost(options.host);
      const exchange = { method: options.method, path: options.path, body: '', response: null };
      exchanges.push(exchange);
      const request = https.request(
        { ...options, host: hostname, port, agent: demo.agent },
        (response) => {
          const chunks = [];
          exchange.response = { status: response.statusCode, headers: response.headers };
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () => {
            exchange.response.body = Buffer.concat(chunks).toString('utf8');
          });
          callback(response);
        },
      );
      exchange.headers = request.getHeaders();
      const write = request.write.bind(request);
      request.write = (chunk, ...rest) => {
        exchange.body += chunk;
        return write(chunk, ...rest);
      };
      return request;
    },
  };
}

/**
 * A request of the test's own (not the client's) in the client's manner: `POST
 * https://<subdomain>.<domain>/<api>` with a JSON body, `Content-Type` and `Content-Length` as
 * the client sets them, and `Authorization: Bearer <token>`. Resolves to `{status, headers,
 * body}` with the body parsed as JSON, whatever the status.
 */
export function post(demo, subdomain, api, body, token) {
  const text = JSON.stringify(body);
  const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const { hostname, port } = splitHost(`${subdomain}.${demo.domain}`);
  return new Promise((resolve, reject) => {
    const request = https.request(
      { host: hostname, port, path: `/${api}`, method: 'POST', headers, agent: demo.agent },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const { statusCode: status, headers: answered } = response;
          try {
            resolve({ status, headers: answered, body: JSON.parse(raw) });
          } catch {
            reject(new Error(`${api}: ${status} with a body that is not JSON: ${raw}`));
          }
        });
      },
    );
    request.on('error', reject);
    request.end(text);
  });
}
