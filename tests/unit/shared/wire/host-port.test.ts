import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHostPort, isLoopback, parseHostPort, parseHostPortList } from '../../../../shared/wire/host-port.js';
import { expectCode } from '../../../helpers/expect-code.js';

test('parseHostPort reads HOST:PORT and [IPv6]:PORT, and formatHostPort writes them back', () => {
  for (const text of ['127.0.0.1:7400', 'example.org:1', '[::1]:65535', '[fd00::1]:0']) assert.equal(formatHostPort(parseHostPort(text)), text);
  assert.deepEqual(parseHostPort('[fd00::1]:80'), { host: 'fd00::1', port: 80 });
});

test('parseHostPort refuses anything else with NFTSYNC_ERR_USAGE naming the flag', () => {
  for (const bad of ['', '7400', 'host', 'host:', ':80', 'host:65536', '::1:80', 'a b:80', 'host:80x']) {
    assert.match(expectCode(() => parseHostPort(bad, '--listen'), 'NFTSYNC_ERR_USAGE').message, /^--listen must be HOST:PORT/, bad);
  }
});

test('isLoopback: localhost, ::1 and 127.0.0.0/8 only', () => {
  for (const h of ['localhost', '::1', '127.0.0.1', '127.255.0.9']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '198.18.0.1', '127.0.0.1.example.org', 'localhost.', 'fd00::1']) assert.equal(isLoopback(h), false, h);
});

test('parseHostPortList reads a comma-separated list in order and refuses empty entries and repeats', () => {
  assert.deepEqual(parseHostPortList('127.0.0.1:7000, [::1]:7001,b.example:7002', '--server'), [
    { host: '127.0.0.1', port: 7000 },
    { host: '::1', port: 7001 },
    { host: 'b.example', port: 7002 },
  ]);
  assert.deepEqual(parseHostPortList('a:1'), [{ host: 'a', port: 1 }]);
  for (const bad of ['', 'a:1,', 'a:1,,b:2', 'a:1,a:1', 'a:1,b']) {
    assert.match(expectCode(() => parseHostPortList(bad, '--server'), 'NFTSYNC_ERR_USAGE').message, /^--server /, bad);
  }
});
