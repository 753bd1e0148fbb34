/** The pure guards on what an agent accepts: the answer matches the request; no downgrade. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAnswerMatchesRequest, checkNotDowngrade, checkServerNotBehind, type AnsweredRevision, type AskedRevision, type BehindAnswer } from '../../../../shared/release/release-guard.js';

const B1 = '1'.repeat(40);
const B2 = '2'.repeat(40);
const C = 'c'.repeat(40);

describe('checkAnswerMatchesRequest', () => {
  const ok: Array<[string, AskedRevision, AnsweredRevision]> = [
    ['ref and ruleset as asked', { ref: 'v1', ruleset: 'web' }, { kind: 'ruleset', ref: 'v1', ruleset: 'web', blob: B1 }],
    ['server chose the ruleset', { ref: 'main' }, { kind: 'ruleset', ref: 'main', ruleset: 'web', blob: B1 }],
    ['tracked: a version matching the pattern', { ref: 'v*', track: true }, { kind: 'ruleset', ref: 'v*', tag: 'v2.0.0', ruleset: 'default', blob: B1 }],
    ['unchanged for the blob the agent has', { ref: 'main', have: { commit: C, blob: B1 } }, { kind: 'unchanged', ref: 'main', ruleset: 'default', blob: B1 }],
    ['unchanged under another mapped name, same bytes', { ref: 'main', have: { commit: C, blob: B1 } }, { kind: 'unchanged', ref: 'main', ruleset: 'web', blob: B1 }],
  ];
  for (const [name, asked, answer] of ok) test(`accepts: ${name}`, () => checkAnswerMatchesRequest(asked, answer));

  const refused: Array<[string, AskedRevision, AnsweredRevision, RegExp]> = [
    ['another ref', { ref: 'v1', ruleset: 'web' }, { kind: 'ruleset', ref: 'v2', ruleset: 'web', blob: B1 }, /answered for ref "v2", but the agent asked for "v1"/],
    ['another ruleset', { ref: 'v1', ruleset: 'web' }, { kind: 'ruleset', ref: 'v1', ruleset: 'db', blob: B1 }, /ruleset db, but the agent asked for web/],
    ['another ruleset, unchanged', { ref: 'v1', ruleset: 'web', have: { commit: C, blob: B1 } }, { kind: 'unchanged', ref: 'v1', ruleset: 'db', blob: B1 }, /ruleset db/],
    ['tracked: no tag', { ref: 'v*', track: true }, { kind: 'ruleset', ref: 'v*', ruleset: 'default', blob: B1 }, /not a release matching/],
    ['tracked: a tag outside the pattern', { ref: 'v1.*', track: true }, { kind: 'ruleset', ref: 'v1.*', tag: 'v2.0.0', ruleset: 'default', blob: B1 }, /v2\.0\.0/],
    ['tracked: a tag that is no version', { ref: 'v*', track: true }, { kind: 'ruleset', ref: 'v*', tag: 'vnext', ruleset: 'default', blob: B1 }, /vnext/],
    ['unchanged for another blob', { ref: 'main', have: { commit: C, blob: B1 } }, { kind: 'unchanged', ref: 'main', ruleset: 'default', blob: B2 }, /blob 2{40}, but the agent has blob 1{40}/],
    ['unchanged when the agent has nothing', { ref: 'main' }, { kind: 'unchanged', ref: 'main', ruleset: 'default', blob: B1 }, /has nothing/],
  ];
  for (const [name, asked, answer, message] of refused) {
    test(`refuses with VERIFY_CHAIN: ${name}`, () => {
      assert.throws(() => checkAnswerMatchesRequest(asked, answer), (err: { code: string; message: string }) => {
        assert.equal(err.code, 'NFTSYNC_ERR_VERIFY_CHAIN');
        assert.match(err.message, message);
        return true;
      });
    });
  }
});

describe('checkNotDowngrade', () => {
  const pass: Array<[string, Parameters<typeof checkNotDowngrade>[0]]> = [
    ['nothing in force', { pattern: 'v*', inForce: undefined, offered: 'v1.0.5' }],
    ['a higher version', { pattern: 'v*', inForce: 'v1.0.5', offered: 'v2.0.0' }],
    ['the same tag', { pattern: 'v*', inForce: 'v2.0.0', offered: 'v2.0.0' }],
    ['the same version, other build metadata', { pattern: 'v*', inForce: 'v2.0.0+a', offered: 'v2.0.0+b' }],
    ['a release above its pre-release', { pattern: 'v*', inForce: 'v2.0.0-rc.1', offered: 'v2.0.0' }],
    ['lower, with allowDowngrade', { pattern: 'v*', inForce: 'v2.0.0', offered: 'v1.0.5', allowDowngrade: true }],
    ['a tag in force outside the pattern (the pattern changed)', { pattern: 'v1.*', inForce: 'v2.0.0', offered: 'v1.0.5' }],
  ];
  for (const [name, args] of pass) test(`passes: ${name}`, () => checkNotDowngrade(args));

  const held: Array<[string, Parameters<typeof checkNotDowngrade>[0]]> = [
    ['a lower major (a deleted v2.0.0)', { pattern: 'v*', inForce: 'v2.0.0', offered: 'v1.0.5' }],
    ['a lower patch', { pattern: 'v*', inForce: 'v1.0.6', offered: 'v1.0.5' }],
    ['a pre-release below its release', { pattern: 'v*', inForce: 'v2.0.0', offered: 'v2.0.0-rc.1' }],
    ['numbers, not text: 1.10 above 1.9', { pattern: 'release-*', inForce: 'release-1.10.0', offered: 'release-1.9.0' }],
  ];
  for (const [name, args] of held) {
    test(`holds with RELEASE_DOWNGRADE, naming both versions: ${name}`, () => {
      assert.throws(() => checkNotDowngrade(args), (err: { code: string; message: string; data: unknown }) => {
        assert.equal(err.code, 'NFTSYNC_ERR_RELEASE_DOWNGRADE');
        assert.ok(err.message.includes(args.offered) && err.message.includes(args.inForce!), err.message);
        assert.match(err.message, /--allow-downgrade/);
        assert.deepEqual(err.data, { pattern: args.pattern, inForce: args.inForce, offered: args.offered });
        return true;
      });
    });
  }
});

describe('checkServerNotBehind', () => {
  const C2 = '2'.repeat(40);
  const C1 = '1'.repeat(40);
  const asked: AskedRevision = { ref: 'main', have: { commit: C2, blob: B2 }, checkBehind: true };
  const moves: Array<[string, AskedRevision, BehindAnswer]> = [
    ['the server says it is not behind: the agent moves, even to an older-looking commit (a force push it knows of)', asked, { kind: 'ruleset', commit: C1, behind: false }],
    ['unchanged from a server not behind', asked, { kind: 'unchanged', commit: C2, behind: false }],
    ['unchanged without a word: nothing moves', asked, { kind: 'unchanged', commit: C2 }],
    ['the same commit again without a word (a ruleset now mapped otherwise): nothing goes back', asked, { kind: 'ruleset', commit: C2 }],
    ['not asked (nothing in force)', { ref: 'main' }, { kind: 'ruleset', commit: C1, behind: true }],
    ['tracked tags: their own guard', { ...asked, track: true, ref: 'v*' }, { kind: 'ruleset', commit: C1 }],
  ];
  for (const [name, a, answer] of moves) test(`passes: ${name}`, () => checkServerNotBehind(a, answer));
  const held: Array<[string, BehindAnswer, RegExp]> = [
    ['a lagging replica offers its older commit and says it is behind', { kind: 'ruleset', commit: C1, behind: true }, /says it does not have it: commit 2{40}.*offers 1{40}/],
    ['another commit without a word (a server that does not keep the guard)', { kind: 'ruleset', commit: C1 }, /does not say it has it/],
    ['unchanged, behind: the agent is held (and says so)', { kind: 'unchanged', commit: C2, behind: true }, /says it does not have it: commit 2{40}, the revision in force; held at/],
  ];
  for (const [name, answer, message] of held) {
    test(`holds: ${name}`, () => {
      assert.throws(() => checkServerNotBehind(asked, answer), (err: { code: string; message: string; data: { inForce: string } }) => {
        assert.equal(err.code, 'NFTSYNC_ERR_SERVER_BEHIND');
        assert.match(err.message, message);
        assert.equal(err.data.inForce, C2);
        return true;
      });
    });
  }
});
