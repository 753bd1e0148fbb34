/**
 * cli/api-client.ts: the --http URL, and the API's answers turned into results or coded errors.
 * The answers come from a stand-in HTTP server on loopback (fake API server: it answers what each
 * case needs, including what the real server never sends); the real API is in the commands' tests.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { apiBase, callApi } from '../../../cli/api-client.js';

test('apiBase: http(s) URLs and bare HOST:PORT; anything else NFTSYNC_ERR_USAGE', () => {
  assert.equal(apiBase('127.0.0.1:8080').href, 'http://127.0.0.1:8080/');
  assert.equal(apiBase('https://nft-sync.example:8443').href, 'https://nft-sync.example:8443/');
  for (const bad of ['ftp://x', 'http://', '::::']) assert.throws(() => apiBase(bad), { code: 'NFTSYNC_ERR_USAGE' }, bad);
});

test('callApi against a fake API server: JSON of a 2xx, the token and body sent; the API\'s error code kept; other answers NFTSYNC_ERR_SERVER_INTERNAL; no server NFTSYNC_ERR_CONN_FAILED', async (t) => {
  const seen: Array<{ req: IncomingMessage; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ req, body });
      const answers: Record<string, [number, string]> = {
        '/ok': [200, '{"a":1}'],
        '/api-error': [404, '{"error":{"code":"NFTSYNC_ERR_AGENT_NOT_FOUND","message":"no agent x","retryable":false,"data":{"agent":"x"}}}'],
        '/html': [502, '<html>bad gateway</html>'],
        '/other-json': [500, '{"oops":true}'],
      };
      const [status, text] = answers[req.url ?? ''] ?? [500, ''];
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const http = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const before = process.env.NFT_SYNC_TOKEN;
  process.env.NFT_SYNC_TOKEN = 'tok-0123456789';
  t.after(() => (before === undefined ? delete process.env.NFT_SYNC_TOKEN : (process.env.NFT_SYNC_TOKEN = before)));

  assert.deepEqual(await callApi(http, 'POST', '/ok', { to: 'main' }), { a: 1 });
  assert.equal(seen[0]!.req.method, 'POST');
  assert.equal(seen[0]!.req.headers.authorization, 'Bearer tok-0123456789');
  assert.equal(seen[0]!.req.headers['content-type'], 'application/json');
  assert.equal(seen[0]!.body, '{"to":"main"}');
  await assert.rejects(callApi(http, 'GET', '/api-error'), (err: Error & { code?: string; data?: unknown }) => err.code === 'NFTSYNC_ERR_AGENT_NOT_FOUND' && err.message === 'no agent x');
  await assert.rejects(callApi(http, 'GET', '/html'), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_SERVER_INTERNAL' && /answered 502 with something that is not JSON/.test(err.message));
  await assert.rejects(callApi(http, 'GET', '/other-json'), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_SERVER_INTERNAL' && /answered 500$/.test(err.message));
  delete process.env.NFT_SYNC_TOKEN;
  await callApi(http, 'GET', '/ok');
  assert.equal(seen.at(-1)!.req.headers.authorization, undefined, 'no token, no header');
  await assert.rejects(callApi('127.0.0.1:1', 'GET', '/ok'), { code: 'NFTSYNC_ERR_CONN_FAILED' });
});
