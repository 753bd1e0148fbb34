import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { formatHostPort, isLoopback, parseHostPort } from '../../../../shared/wire/host-port.js';
import { assertRef, assertRulesetName, isAgentName, isRulesetName } from '../../../../shared/ruleset/names.js';

describe('names', () => {
  for (const ok of ['default', 'web-1', 'edge_v6', 'a.b']) {
    it(`accepts ruleset name ${ok}`, () => {
      assertRulesetName(ok);
      assert.ok(isRulesetName(ok));
    });
  }
  for (const bad of ['', '..', '../x', 'a/b', '.hidden', 'x\0y', 'a..b', 'a\\b', '-x', 'x'.repeat(65), 'trailing.', 'sp ace']) {
    it(`refuses ruleset name ${JSON.stringify(bad)}`, () => {
      assert.throws(() => assertRulesetName(bad), { code: 'NFTSYNC_ERR_RULESET_NAME_INVALID' });
      assert.equal(isRulesetName(bad), false);
    });
  }
  for (const ok of ['main', 'v1.2.3', 'refs/heads/feature/x', 'HEAD', 'abc1234', '0123456789abcdef0123456789abcdef01234567']) {
    it(`accepts ref ${ok}`, () => assertRef(ok));
  }
  for (const bad of ['', '../../etc/passwd', 'main\0', '-rf', 'a..b', 'x~1', 'x^', 'a:b', 'a b', 'a/.hidden', 'x.lock', '/abs', 'a//b', '@', 'a@{1}', 'x'.repeat(256), 'end.', 'tail/']) {
    it(`refuses ref ${JSON.stringify(bad.slice(0, 20))}`, () => assert.throws(() => assertRef(bad), { code: 'NFTSYNC_ERR_REF_INVALID' }));
  }
  it('agent names', () => {
    assert.ok(isAgentName('host-1.example.org'));
    assert.ok(!isAgentName('a/b'));
    assert.ok(!isAgentName('..'));
    assert.ok(!isAgentName(''));
  });
});

describe('git blob id', () => {
  it('matches git hash-object', () => {
    // printf 'hello\n' | git hash-object --stdin
    assert.equal(gitBlobId(Buffer.from('hello\n')), 'ce013625030ba8dba906f756967f9e9ca394464a');
    // git hash-object /dev/null
    assert.equal(gitBlobId(Buffer.alloc(0)), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
  });
});

describe('host:port', () => {
  it('parses IPv4, names and bracketed IPv6', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:7000'), { host: '127.0.0.1', port: 7000 });
    assert.deepEqual(parseHostPort('[::1]:80'), { host: '::1', port: 80 });
    assert.deepEqual(parseHostPort('server.example:1'), { host: 'server.example', port: 1 });
    assert.equal(formatHostPort({ host: 'fd00::1', port: 5 }), '[fd00::1]:5');
  });
  for (const bad of ['', '1.2.3.4', ':80', '::1:80', 'host:99999', 'host:-1', 'a b:1']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseHostPort(bad, '--listen'), { code: 'NFTSYNC_ERR_USAGE' }));
  }
  it('knows loopback', () => {
    assert.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('localhost') && isLoopback('127.1.2.3'));
    assert.ok(!isLoopback('198.18.0.1') && !isLoopback('0.0.0.0') && !isLoopback('::'));
  });
});
