/**
 * The write-authorisation rule as a decision table, without a server: every combination of
 * token list, anonymous writes, --read-token-required, read or write, Host header and
 * credentials, and the user or error code each gets.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { ANONYMOUS, LOCAL, authorise, tokenFromAuthorization, type AccessAttempt, type AccessPolicy } from '../../../../server/auth/access-policy.js';
import { NftSyncError } from '../../../../shared/errors.js';

const TOKEN = 'alice-token-0123456789abcdef';
const tokens = parseTokenList(`${TOKEN} alice\n`);
const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

/** The user, or the error code. */
function decide(policy: AccessPolicy, attempt: Partial<AccessAttempt>): string {
  try {
    return authorise(policy, { write: false, host: '127.0.0.1:8080', authorization: undefined, via: 'api', ...attempt });
  } catch (err) {
    assert.ok(err instanceof NftSyncError);
    return err.code;
  }
}

describe('authorise', () => {
  const cases: Array<[string, AccessPolicy, Partial<AccessAttempt>, string]> = [
    // no token list: reads open, writes only anonymous-from-loopback
    ['no list, read, foreign host', {}, { host: 'evil.example' }, ANONYMOUS],
    ['no list, write, listener not on loopback', {}, { write: true }, 'NFTSYNC_ERR_API_WRITES_DISABLED'],
    ['no list, write, loopback listener, loopback Host', { anonymousWrites: true }, { write: true }, LOCAL],
    ['no list, write, loopback listener, [::1] Host', { anonymousWrites: true }, { write: true, host: '[::1]:80' }, LOCAL],
    ['no list, write, loopback listener, rebinding Host', { anonymousWrites: true }, { write: true, host: 'evil.example:8080' }, 'NFTSYNC_ERR_API_WRITES_DISABLED'],
    ['no list, write, loopback listener, no Host', { anonymousWrites: true }, { write: true, host: undefined }, 'NFTSYNC_ERR_API_WRITES_DISABLED'],
    ['no list, readTokenRequired means nothing', { readTokenRequired: true }, {}, ANONYMOUS],
    // token list: writes need a token, whatever the Host; anonymous writes no longer count
    ['list, write, no token', { tokens, anonymousWrites: true }, { write: true }, 'NFTSYNC_ERR_AUTH_REQUIRED'],
    ['list, write, bearer token', { tokens }, { write: true, authorization: `Bearer ${TOKEN}`, host: 'server.example' }, 'alice'],
    ['list, write, basic password', { tokens }, { write: true, authorization: basic(`ci:${TOKEN}`), via: 'git' }, 'alice'],
    ['list, write, unknown token', { tokens }, { write: true, authorization: 'Bearer nope' }, 'NFTSYNC_ERR_AUTH_REQUIRED'],
    ['list, read, no token', { tokens }, {}, ANONYMOUS],
    ['list, read, unknown token ignored', { tokens }, { authorization: 'Bearer nope' }, ANONYMOUS],
    ['list + readTokenRequired, read, no token', { tokens, readTokenRequired: true }, {}, 'NFTSYNC_ERR_AUTH_REQUIRED'],
    ['list + readTokenRequired, read, token', { tokens, readTokenRequired: true }, { authorization: `Bearer ${TOKEN}` }, 'alice'],
  ];
  for (const [name, policy, attempt, expected] of cases) {
    test(name, () => {
      assert.equal(decide(policy, attempt), expected);
      assert.equal(decide(policy, { ...attempt, via: attempt.via === 'git' ? 'api' : 'git' }), expected, 'the API and git decide alike');
    });
  }

  test('the advice names the way the client gives a token; the error says whether one came', () => {
    const api = () => authorise({ tokens }, { write: true, host: undefined, authorization: undefined, via: 'api' });
    const git = () => authorise({ tokens }, { write: true, host: undefined, authorization: 'Bearer nope', via: 'git' });
    assert.throws(api, (e: NftSyncError) => /Authorization: Bearer/.test(e.message) && e.data?.given === false);
    assert.throws(git, (e: NftSyncError) => /--token-file \(pushing over HTTP\)/.test(e.message) && e.data?.given === true);
  });
});

describe('tokenFromAuthorization', () => {
  test('basic auth password, any user; bearer; nothing else', () => {
    assert.equal(tokenFromAuthorization(basic('ci:tok-en:with:colons')), 'tok-en:with:colons');
    assert.equal(tokenFromAuthorization(basic(':t')), 't');
    assert.equal(tokenFromAuthorization('Bearer abc'), 'abc');
    assert.equal(tokenFromAuthorization(basic('nocolon')), undefined);
    assert.equal(tokenFromAuthorization('Digest x'), undefined);
    assert.equal(tokenFromAuthorization(undefined), undefined);
  });
});
