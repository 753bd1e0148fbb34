/** server/http/server-metrics.ts: the Prometheus text exposition of the server's counters. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerMetrics } from '../../../../server/http/server-metrics.js';
import type { AgentRecord } from '../../../../shared/http/http-api.js';

const agent = (name: string, connected: boolean, state?: string): AgentRecord => ({ name, connected, ...(state ? { status: { state } } : {}) }) as unknown as AgentRecord;

test('render: agents by state (every state present, unreported as Unknown), connections, requests by route and status, counters', () => {
  const m = new ServerMetrics();
  m.countRequest('/api/v1/agents', 200);
  m.countRequest('/api/v1/agents', 200);
  m.countRequest('unmatched', 404);
  m.refMoves = 3;
  m.rollbacks = 1;
  const text = m.render([agent('a', true, 'Applied'), agent('b', false, 'Applied'), agent('c', true, 'Failed'), agent('d', false)], 7);
  const lines = text.split('\n');
  assert.ok(text.endsWith('\n'));
  for (const [state, n] of [['Applied', 2], ['Applying', 0], ['Failed', 1], ['Degraded', 0], ['Unknown', 1]] as const) {
    assert.ok(lines.includes(`nftsync_agents{state="${state}"} ${n}`), `${state} ${n}`);
  }
  assert.ok(lines.includes('nftsync_agents_connected 2'));
  assert.ok(lines.includes('nftsync_wire_connections 7'));
  assert.ok(lines.includes('nftsync_http_requests_total{route="/api/v1/agents",status="200"} 2'));
  assert.ok(lines.includes('nftsync_http_requests_total{route="unmatched",status="404"} 1'));
  assert.ok(lines.includes('nftsync_ref_moves_total 3'));
  assert.ok(lines.includes('nftsync_rollbacks_total 1'));
  assert.ok(lines.includes('# TYPE nftsync_http_requests_total counter'));
  assert.ok(lines.includes(`process_start_time_seconds ${Math.floor(m.startTime)}`));
});

test('render: label values are escaped (backslash, quote, newline)', () => {
  const m = new ServerMetrics();
  m.countRequest('/a"b\\c\nd', 500);
  assert.match(m.render([], 0), /nftsync_http_requests_total\{route="\/a\\"b\\\\c\\nd",status="500"\} 1/);
});

test('render on a replica: whether the primary answers, when the mirror last held its refs, fetches and forwarded reports; none of these on a primary', () => {
  const m = new ServerMetrics();
  const at = Date.parse('2026-12-02T20:00:00.000Z');
  const lines = m.render([], 0, { primary: 'http://primary:7401/git/rules.git', syncedAt: at, primaryReachable: false, fetches: 4, forwarded: 9 }).split('\n');
  assert.ok(lines.includes('nftsync_replica_primary_reachable 0'));
  assert.ok(lines.includes(`nftsync_replica_synced_timestamp_seconds ${at / 1000}`));
  assert.ok(lines.includes('nftsync_replica_fetches_total 4'));
  assert.ok(lines.includes('nftsync_replica_reports_forwarded_total 9'));
  assert.ok(lines.includes('# TYPE nftsync_replica_fetches_total counter'));
  assert.ok(!m.render([], 0).includes('nftsync_replica_'));
});
