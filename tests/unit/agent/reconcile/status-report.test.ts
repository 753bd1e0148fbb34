import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { agentStatus, buildStatus, reasonFor, STATUS_REASONS } from '../../../../agent/reconcile/status-report.js';
import { ERRORS, type ErrorCode } from '../../../../shared/errors.js';

const errorsDoc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const protocolDoc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8');

test('every error code gets the status reason docs/errors.md gives it', () => {
  const documented = new Map([...errorsDoc.matchAll(/^\| `(NFTSYNC_ERR_[A-Z0-9_]+)` \|.*\| `([A-Za-z]+)` \|$/gm)].map((m) => [m[1]!, m[2]!]));
  const wrong: string[] = [];
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    const doc = documented.get(code);
    if (doc === undefined) wrong.push(`${code}: no reason in docs/errors.md (it gets ${reasonFor(code)})`);
    else if (doc !== reasonFor(code)) wrong.push(`${code}: docs/errors.md says ${doc}, the agent reports ${reasonFor(code)}`);
  }
  assert.deepEqual(wrong, []);
  assert.equal(reasonFor('NFTSYNC_ERR_NFT_APPLY'), 'ApplyFailed');
  assert.equal(reasonFor('NFTSYNC_ERR_CONN_FAILED'), 'Unreachable');
  assert.equal(reasonFor('NFTSYNC_ERR_VERIFY_SIGNATURE'), 'VerifyFailed');
});

test('STATUS_REASONS are PascalCase and are exactly the reasons docs/protocol.md lists for Ready', () => {
  const para = /The `Ready` condition's reason is one of ([\s\S]*?)\nAfter a drift/.exec(protocolDoc);
  assert.ok(para, 'docs/protocol.md lists the Ready reasons');
  const listed = new Set([...para[1]!.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1]!));
  for (const r of STATUS_REASONS) assert.match(r, /^[A-Z][a-z]+(?:[A-Z][a-z]+)*$/, r);
  assert.deepEqual([...STATUS_REASONS].filter((r) => !listed.has(r)), [], 'reasons missing from docs/protocol.md');
  assert.deepEqual([...listed].filter((r) => !STATUS_REASONS.includes(r)), [], 'reasons in docs/protocol.md the agent never reports');
});
test('buildStatus: applied, failed keeps what is in force, read-back mismatch is Degraded', () => {
  const inForce = { ruleset: 'default', commit: 'a'.repeat(40), blob: 'b'.repeat(40), appliedAt: '2026-01-01T00:00:00.000Z' };
  const ok = buildStatus({ agent: 'h', ref: 'main', inForce });
  assert.equal(ok.state, 'Applied');
  assert.deepEqual(ok.conditions[0], { type: 'Ready', status: 'True', reason: 'Applied', message: `default at ${'a'.repeat(40)}` });
  const failed = buildStatus({ agent: 'h', ref: 'main', inForce, attemptedCommit: 'c'.repeat(40), error: { code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no' } });
  assert.equal(failed.state, 'Failed');
  assert.equal(failed.commit, inForce.commit);
  assert.equal(failed.attemptedCommit, 'c'.repeat(40));
  assert.equal(failed.conditions[0]!.reason, 'ApplyFailed');
  assert.equal(buildStatus({ agent: 'h', ref: 'main', inForce, error: { code: 'NFTSYNC_ERR_READBACK_MISMATCH', message: 'x' } }).state, 'Degraded');
});

test('buildStatus: a refused downgrade keeps the release in force and says Held, naming both versions', () => {
  const inForce = { ruleset: 'default', commit: 'a'.repeat(40), blob: 'b'.repeat(40), appliedAt: '2026-01-01T00:00:00.000Z' };
  const message = 'the server offers v1.0.5 for --track-tags "v*", a lower version than v2.0.0, the release in force: held at v2.0.0';
  const held = buildStatus({ agent: 'h', ref: 'v*', tag: 'v2.0.0', inForce, attemptedCommit: 'c'.repeat(40), error: { code: 'NFTSYNC_ERR_RELEASE_DOWNGRADE', message } });
  assert.equal(held.state, 'Degraded');
  assert.equal(held.commit, inForce.commit);
  assert.equal(held.tag, 'v2.0.0');
  assert.equal(held.conditions[0]!.reason, 'DowngradeRefused');
  assert.deepEqual(held.conditions.find((c) => c.type === 'Held'), { type: 'Held', status: 'True', reason: 'DowngradeRefused', message });
  assert.equal(buildStatus({ agent: 'h', ref: 'v*', inForce }).conditions.some((c) => c.type === 'Held'), false);
});

test('buildStatus: a server behind the agent keeps the revision in force and says Held, reason ServerBehind', () => {
  const inForce = { ruleset: 'default', commit: 'a'.repeat(40), blob: 'b'.repeat(40), appliedAt: '2026-01-01T00:00:00.000Z' };
  const message = `the server says it does not have it: commit ${'a'.repeat(40)}, the revision in force; held at ${'a'.repeat(40)} until the server has caught up`;
  const held = buildStatus({ agent: 'h', ref: 'main', inForce, error: { code: 'NFTSYNC_ERR_SERVER_BEHIND', message } });
  assert.equal(held.state, 'Degraded');
  assert.equal(held.commit, inForce.commit);
  assert.equal(held.conditions[0]!.reason, 'ServerBehind');
  assert.deepEqual(held.conditions.find((c) => c.type === 'Held'), { type: 'Held', status: 'True', reason: 'ServerBehind', message });
  // A replica that has not heard the primary's rollout for its tip holds the agent the same way.
  const unknown = buildStatus({ agent: 'h', ref: 'main', inForce, error: { code: 'NFTSYNC_ERR_ROLLOUT_UNKNOWN', message: 'not heard' } });
  assert.equal(unknown.state, 'Degraded');
  assert.equal(unknown.commit, inForce.commit);
  assert.deepEqual(unknown.conditions.find((c) => c.type === 'Held'), { type: 'Held', status: 'True', reason: 'RolloutUnknown', message: 'not heard' });
});

test('agentStatus: the one status function: the pass\'s error before an unhealed drift, a Drifted condition while one is on record, the tag in force before the one last resolved', () => {
  const state = { ruleset: 'default', commit: 'a'.repeat(40), blob: 'b'.repeat(40), appliedAt: 't' };
  const drift = { message: 'drift: rule added', healed: false, at: '2026-01-01T00:00:00.000Z' };
  const drifted = agentStatus({ agent: 'h', ref: 'v*', state, report: {}, drift, tagInForce: undefined });
  assert.equal(drifted.state, 'Degraded');
  assert.equal(drifted.conditions[0]!.reason, 'Drifted');
  assert.deepEqual(drifted.conditions[1], { type: 'Drifted', status: 'True', reason: 'Drifted', message: '2026-01-01T00:00:00.000Z drift: rule added' });
  const failed = agentStatus({ agent: 'h', ref: 'v*', state, report: { lastError: { code: 'NFTSYNC_ERR_NFT_APPLY', message: 'no' }, attempted: 'c'.repeat(40), tag: 'v3' }, drift: { ...drift, healed: true }, tagInForce: 'v2' });
  assert.equal(failed.state, 'Failed');
  assert.equal(failed.conditions[0]!.reason, 'ApplyFailed');
  assert.equal(failed.conditions[1]!.reason, 'Healed');
  assert.equal(failed.tag, 'v2');
  assert.equal(failed.attemptedCommit, 'c'.repeat(40));
  assert.equal(agentStatus({ agent: 'h', ref: 'v*', state: undefined, report: { tag: 'v3' }, drift: undefined, tagInForce: undefined }).tag, 'v3');
});
