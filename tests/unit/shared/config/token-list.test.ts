import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTokenList, tokenOwner } from '../../../../shared/config/token-list.js';

describe('token list', () => {
  const list = parseTokenList('# comment\n\n3c9f0a7e61b24d5f9e8a  ci-bot\r\na1b2c3d4e5f6a7b8c9d0\n');
  it('finds owners, with a default for tokens without one', () => {
    assert.equal(tokenOwner(list, '3c9f0a7e61b24d5f9e8a'), 'ci-bot');
    assert.equal(tokenOwner(list, 'a1b2c3d4e5f6a7b8c9d0'), 'token-4');
  });
  it('refuses unknown, empty and missing tokens', () => {
    for (const t of ['3c9f0a7e61b24d5f9e8b', '', undefined, '3c9f0a7e61b24d5f9e8a ']) assert.equal(tokenOwner(list, t), undefined);
  });
  for (const bad of ['short', 'a1b2c3d4e5f6a7b8c9d0 owner extra', 'a1b2c3d4e5f6a7b8c9d0 \u00e9', 'tok\u0000en0123456789abcdef']) {
    it(`refuses the line ${JSON.stringify(bad)} without echoing it`, () => {
      assert.throws(() => parseTokenList(bad), (e: Error & { code?: string }) => e.code === 'NFTSYNC_ERR_CONFIG_INVALID' && !e.message.includes('a1b2c3'));
    });
  }
});
