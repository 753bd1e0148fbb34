import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { checkHello } from '../../../../server/wire/hello-check.js';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { expectCode } from '../../../helpers/expect-code.js';

const TOKEN = 'wire-token-0123456789abcdef';
const tokens = parseTokenList(`${TOKEN} ci\n`);
const plain = new Socket();

test('checkHello picks the highest common version, or refuses with NFTSYNC_ERR_PROTO_VERSION', () => {
  assert.deepEqual(checkHello({ type: 'hello', versions: [1, 99], agent: 'a' }, plain, undefined), { version: 1 });
  expectCode(() => checkHello({ type: 'hello', versions: [99], agent: 'a' }, plain, undefined), 'NFTSYNC_ERR_PROTO_VERSION');
});

test('checkHello on plain TCP with a token file: a listed token passes (its owner named), none or another is NFTSYNC_ERR_AUTH_REQUIRED', () => {
  assert.deepEqual(checkHello({ type: 'hello', versions: [1], agent: 'a', token: TOKEN }, plain, tokens), { version: 1, tokenOwner: 'ci' });
  expectCode(() => checkHello({ type: 'hello', versions: [1], agent: 'a' }, plain, tokens), 'NFTSYNC_ERR_AUTH_REQUIRED');
  const err = expectCode(() => checkHello({ type: 'hello', versions: [1], agent: 'a', token: `${TOKEN}x` }, plain, tokens), 'NFTSYNC_ERR_AUTH_REQUIRED');
  assert.doesNotMatch(err.message, new RegExp(TOKEN), 'the token is never echoed');
});
