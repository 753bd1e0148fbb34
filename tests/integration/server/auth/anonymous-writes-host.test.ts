/**
 * Anonymous writes (no --token-file, loopback listener) are for local users, not for a web page
 * in a local browser that reaches 127.0.0.1 through DNS rebinding: a write whose Host header is
 * not a loopback name is refused, for the API and for git pushes over HTTP. Real server on
 * loopback, real fetch.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { isLoopbackHostHeader } from '../../../../server/auth/loopback-host.js';

test('isLoopbackHostHeader', () => {
  for (const h of ['localhost', 'localhost:8080', '127.0.0.1:1', '127.3.2.1', '[::1]:80', '[::1]', 'LOCALHOST']) assert.equal(isLoopbackHostHeader(h), true, h);
  for (const h of [undefined, '', 'evil.example', 'evil.example:8080', '127.0.0.1.evil.example', '[::2]:80', 'localhost.evil.example']) assert.equal(isLoopbackHostHeader(h), false, String(h));
});

/** One request with an explicit Host header (node:http sends it as given; fetch does not). */
function request(port: number, method: string, path: string, host: string, body?: string): Promise<{ status: number; json: { error?: { code: string } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { host, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, json: text.startsWith('{') ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('anonymous API writes and pushes with a foreign Host header are refused with API_WRITES_DISABLED', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const c1 = f.git(['rev-parse', 'HEAD']);
  f.push({ 'rulesets/default.json': readFileSync('repo-template/rulesets/default.json', 'utf8').replace(/"right": 22\b/, '"right": 2222') });
  const port = f.server.httpAddress!.port;
  const payload = JSON.stringify({ branch: 'main', to: c1 });
  // The Host header a page sends after DNS rebinding: its own name.
  const foreign = await request(port, 'POST', '/api/v1/rollback', `evil.example:${port}`, payload);
  assert.equal(foreign.status, 403);
  assert.equal(foreign.json.error?.code, 'NFTSYNC_ERR_API_WRITES_DISABLED');
  const push = await request(port, 'GET', '/git/rules.git/info/refs?service=git-receive-pack', 'evil.example');
  assert.equal(push.status, 403);
  assert.equal(push.json.error?.code, 'NFTSYNC_ERR_API_WRITES_DISABLED');
  // Local clients still write.
  const local = await request(port, 'POST', '/api/v1/rollback', `127.0.0.1:${port}`, payload);
  assert.equal(local.status, 201, JSON.stringify(local.json));
});
