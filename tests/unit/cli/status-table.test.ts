import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStatusTable, isAgentReady, relativeTime, statusJson } from '../../../cli/status-table.js';
import type { AgentRecord } from '../../../shared/http/http-api.js';

const now = Date.parse('2026-01-01T12:00:00Z');
const A = 'a'.repeat(40);
const C = 'c'.repeat(40);

const web: AgentRecord = {
  name: 'web-1', address: '198.18.0.2', connected: true, lastSeen: '2026-01-01T11:59:55Z',
  status: { agent: 'web-1', ref: 'main', ruleset: 'web', state: 'Applied', commit: A, blob: 'b'.repeat(40), appliedAt: '2026-01-01T11:00:00.000Z', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied', message: `web at ${A}` }] },
};
const db: AgentRecord = { name: 'db-10', address: '198.18.0.3', connected: false, lastSeen: '2026-01-01T09:00:00Z', status: undefined };
/** Follows v*, runs v1.1.0, refused v1.2.0 (bad signature), and a hand change was healed. */
const edge: AgentRecord = {
  name: 'edge-1', address: '198.18.0.4', connected: true, lastSeen: '2026-01-01T12:00:00Z',
  status: {
    agent: 'edge-1', ref: 'v*', tag: 'v1.1.0', ruleset: 'default', state: 'Failed', commit: C, attemptedCommit: 'd'.repeat(40),
    conditions: [
      { type: 'Ready', status: 'False', reason: 'VerifyFailed', message: 'NFTSYNC_ERR_VERIFY_SIGNATURE: tag v1.2.0 is not signed by an allowed key' },
      { type: 'Drifted', status: 'False', reason: 'Healed', message: '2026-01-01T11:30:00.000Z drift healed: rule added' },
    ],
  },
};

test('status table: a RULESET column, the revision in force with its own tag, aligned columns', () => {
  assert.equal(
    formatStatusTable([web, db, edge], now),
    'NAME    REF   RULESET  REVISION               STATE    REASON                       LAST SEEN  CONNECTED\n' +
      `web-1   main  web      ${'a'.repeat(12)}           Applied  Applied                      5s ago     yes\n` +
      'db-10   -     -        -                      Unknown  -                            3h ago     no\n' +
      `edge-1  v*    default  ${'c'.repeat(12)} (v1.1.0)  Failed   VerifyFailed (drift healed)  now        yes\n`,
  );
  assert.equal(relativeTime('2026-01-01T11:58:00Z', now), '2m ago');
  assert.equal(relativeTime('2025-12-30T12:00:00Z', now), '2d ago');
  assert.equal(relativeTime('garbage', now), '?');
});

test('an agent is Ready when connected and its Ready condition is True', () => {
  assert.equal(isAgentReady(web), true);
  assert.equal(isAgentReady(db), false);
  assert.equal(isAgentReady(edge), false);
  assert.equal(isAgentReady({ ...web, connected: false }), false, 'a stale report does not count');
});

test('status --json: the documented shape, every key present in this order (null when unknown)', () => {
  const doc = statusJson([web, db, edge]);
  assert.deepEqual(Object.keys(doc), ['version', 'ready', 'agents']);
  assert.equal(doc.version, 1);
  assert.equal(doc.ready, false);
  const keys = ['name', 'connected', 'lastSeen', 'address', 'ready', 'state', 'reason', 'message', 'ref', 'ruleset', 'commit', 'tag', 'appliedAt', 'attemptedCommit', 'drift', 'status'];
  for (const a of doc.agents) assert.deepEqual(Object.keys(a), keys, a.name);
  assert.deepEqual(doc.agents[0], {
    name: 'web-1', connected: true, lastSeen: '2026-01-01T11:59:55Z', address: '198.18.0.2', ready: true, state: 'Applied', reason: 'Applied',
    message: `web at ${A}`, ref: 'main', ruleset: 'web', commit: A, tag: null, appliedAt: '2026-01-01T11:00:00.000Z', attemptedCommit: null, drift: null,
    status: web.status,
  });
  assert.deepEqual(doc.agents[1], {
    name: 'db-10', connected: false, lastSeen: '2026-01-01T09:00:00Z', address: '198.18.0.3', ready: false, state: 'Unknown', reason: null,
    message: null, ref: null, ruleset: null, commit: null, tag: null, appliedAt: null, attemptedCommit: null, drift: null, status: null,
  });
  assert.deepEqual(doc.agents[2]!.drift, { status: 'False', reason: 'Healed', message: '2026-01-01T11:30:00.000Z drift healed: rule added' });
  assert.equal(doc.agents[2]!.tag, 'v1.1.0');
  assert.equal(doc.agents[2]!.reason, 'VerifyFailed');
  assert.deepEqual(statusJson([]), { version: 1, ready: true, agents: [] });
});

test('status table: control characters a server passes on from a report are shown escaped, never sent to the terminal', () => {
  const hostile: AgentRecord = { ...web, status: { ...web.status!, ref: '\u001b]0;owned\u0007main\u001b[2J', tag: 'v1\u009b31m' }, address: '198.18.0.9\r' };
  const text = formatStatusTable([hostile], now);
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  assert.match(text, /\\u001b\]0;owned\\u0007main\\u001b\[2J/);
});

