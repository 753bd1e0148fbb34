import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CGI_HEAD_MAX, parseCgiHead } from '../../../../server/git/cgi-response.js';

describe('parseCgiHead', () => {
  test('waits for the blank line, then gives status, headers and the start of the body', () => {
    assert.equal(parseCgiHead(Buffer.from('Content-Type: text/plain\r\n')), undefined);
    const h = parseCgiHead(Buffer.from('Status: 404 Not Found\r\nContent-Type: text/plain\r\nExpires: x\r\n\r\nbody'))!;
    assert.equal(h.status, 404);
    assert.deepEqual(h.headers, [['Content-Type', 'text/plain'], ['Expires', 'x']]);
    assert.equal(h.rest.toString(), 'body');
  });
  test('LF-only heads and a missing Status mean 200', () => {
    const h = parseCgiHead(Buffer.from('Content-Type: application/x-git-upload-pack-advertisement\n\n001e# service'))!;
    assert.equal(h.status, 200);
    assert.equal(h.rest.toString(), '001e# service');
  });
  test('a head without an end is refused past the limit', () => {
    assert.throws(() => parseCgiHead(Buffer.alloc(CGI_HEAD_MAX + 1, 'a')), /larger than/);
  });
});
