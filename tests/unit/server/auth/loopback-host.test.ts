import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackHostHeader } from '../../../../server/auth/loopback-host.js';

test('isLoopbackHostHeader: a Host header naming loopback, with or without a port', () => {
  for (const h of ['localhost', 'LOCALHOST:8080', '127.0.0.1', '127.0.0.1:7480', '[::1]', '[::1]:7480', ' localhost ']) assert.equal(isLoopbackHostHeader(h), true, h);
  for (const h of [undefined, '', 'example.org', 'example.org:80', '198.18.0.1:7480', '[fd00::1]:80', '127.0.0.1.nip.io', 'localhost.evil:80']) assert.equal(isLoopbackHostHeader(h), false, String(h));
});
