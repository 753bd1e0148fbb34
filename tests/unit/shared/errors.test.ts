import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERRORS, NftSyncError, toNftSyncError } from '../../../shared/errors.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `(NFTSYNC_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));

describe('error catalogue', () => {
  it('docs/errors.md lists every code in the catalogue', () => {
    const missing = Object.keys(ERRORS).filter((c) => !documented.has(c));
    assert.deepEqual(missing, [], 'add these to docs/errors.md');
  });
  it('every code in docs/errors.md exists in the catalogue', () => {
    const stale = [...documented].filter((c) => !(c in ERRORS));
    assert.deepEqual(stale, [], 'remove these from docs/errors.md or add them to shared/errors.ts');
  });
  it('docs/errors.md says retryable or not as the catalogue does', () => {
    for (const m of doc.matchAll(/^\| `(NFTSYNC_ERR_[A-Z0-9_]+)` \| (yes|no) \|/gm)) {
      assert.equal(ERRORS[m[1] as keyof typeof ERRORS].retryable, m[2] === 'yes', m[1]);
    }
  });
  it('codes are NFTSYNC_ERR_ followed by upper-case words', () => {
    for (const c of Object.keys(ERRORS)) assert.match(c, /^NFTSYNC_ERR_[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });
  it('serialises and rebuilds', () => {
    const e = new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', 'no ref x', { data: { ref: 'x' } });
    const json = JSON.parse(JSON.stringify(e));
    assert.deepEqual(json, { code: 'NFTSYNC_ERR_REF_NOT_FOUND', message: 'no ref x', retryable: false, data: { ref: 'x' } });
    const back = NftSyncError.fromJSON(json);
    assert.equal(back.code, 'NFTSYNC_ERR_REF_NOT_FOUND');
    assert.equal(NftSyncError.fromJSON({ code: 'EVIL', message: 1 }).code, 'NFTSYNC_ERR_SERVER_INTERNAL');
    assert.equal(toNftSyncError(new Error('x')).code, 'NFTSYNC_ERR_SERVER_INTERNAL');
  });
});
