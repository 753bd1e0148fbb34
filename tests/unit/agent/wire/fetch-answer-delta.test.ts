/** fetchResult on a `ruleset` answer carrying a delta: rebuilt when it fits what the agent offered, refused with a code otherwise. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaRefusal, fetchResult } from '../../../../agent/wire/fetch-answer.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { NftSyncError } from '../../../../shared/errors.js';
import type { ServerMessage } from '../../../../shared/wire/messages.js';

const BASE = { blob: 'a'.repeat(40), bytes: Buffer.from('a\nb\nc') };
const DELTA = Buffer.from('nft-sync-delta 1\n= 1\n- 1\n+ 1\nx\n= 1\n');
const answer = (delta: { base: string; size: number }): ServerMessage =>
  ({ type: 'ruleset', id: 1, ref: 'main', ruleset: 'default', commit: 'c'.repeat(40), blob: 'b'.repeat(40), size: DELTA.length, delta }) as ServerMessage;
const code = (c: string) => (e: unknown) => e instanceof NftSyncError && e.code === c;

test('a delta against the offered base is rebuilt into the ruleset bytes', () => {
  const r = fetchResult(answer({ base: BASE.blob, size: 5 }), DELTA, { maxRulesetBytes: 100, proof: false, base: BASE });
  assert.equal(r.kind, 'ruleset');
  assert.equal(r.kind === 'ruleset' && r.bytes.toString(), 'a\nx\nc');
  assert.deepEqual(r.kind === 'ruleset' && r.delta, { base: BASE.blob, wireBytes: DELTA.length, edits: [{ line: 1, deleted: ['b'], inserted: ['x'] }] });
});

test('a delta not offered, against another base, of a wrong length or over the limit is refused', () => {
  assert.throws(() => fetchResult(answer({ base: BASE.blob, size: 5 }), DELTA, { maxRulesetBytes: 100, proof: false }), code('NFTSYNC_ERR_MSG_INVALID'));
  assert.throws(() => fetchResult(answer({ base: 'd'.repeat(40), size: 5 }), DELTA, { maxRulesetBytes: 100, proof: false, base: BASE }), code('NFTSYNC_ERR_MSG_INVALID'));
  assert.throws(() => fetchResult(answer({ base: BASE.blob, size: 4 }), DELTA, { maxRulesetBytes: 100, proof: false, base: BASE }), code('NFTSYNC_ERR_MSG_INVALID'));
  assert.throws(() => fetchResult(answer({ base: BASE.blob, size: 3 }), DELTA, { maxRulesetBytes: 3, proof: false, base: BASE }), code('NFTSYNC_ERR_RULESET_TOO_LARGE'));
  assert.throws(() => fetchResult(answer({ base: BASE.blob, size: 6 }), DELTA, { maxRulesetBytes: 100, proof: false, base: BASE }), code('NFTSYNC_ERR_MSG_INVALID'));
  assert.throws(() => fetchResult(answer({ base: BASE.blob, size: 500 }), DELTA, { maxRulesetBytes: 100, proof: false, base: BASE }), code('NFTSYNC_ERR_RULESET_TOO_LARGE'));
});

test('deltaRefusal: a delta refused, or rebuilding bytes of another blob id, sends the agent to a full fetch; anything else is used', () => {
  const target = Buffer.from('a\nx\nc');
  const msg = (blob: string): ServerMessage => ({ ...(answer({ base: BASE.blob, size: 5 }) as object), blob }) as ServerMessage;
  const ok = fetchResult(msg(gitBlobId(target)), DELTA, { maxRulesetBytes: 100, proof: false, base: BASE });
  assert.equal(deltaRefusal(msg(gitBlobId(target)), { result: ok }), undefined);
  const wrong = fetchResult(msg('b'.repeat(40)), DELTA, { maxRulesetBytes: 100, proof: false, base: BASE });
  assert.match(deltaRefusal(msg('b'.repeat(40)), { result: wrong }) ?? '', /do not hash to blob b{40}/);
  assert.match(deltaRefusal(msg('b'.repeat(40)), { error: new NftSyncError('NFTSYNC_ERR_MSG_INVALID', 'bad') }) ?? '', /NFTSYNC_ERR_MSG_INVALID: bad/);
  const whole = { type: 'ruleset', id: 1, ref: 'main', ruleset: 'default', commit: 'c'.repeat(40), blob: 'b'.repeat(40), size: 5 } as ServerMessage;
  assert.equal(deltaRefusal(whole, { result: wrong }), undefined, 'not a delta: verified as usual later');
});
