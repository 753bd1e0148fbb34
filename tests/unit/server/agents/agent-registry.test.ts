/**
 * The agent registry is bounded: at most maxAgents records; agents not connected and unseen for
 * evictAfterMs are forgotten when room is needed (or the list is read); a full registry refuses a
 * new agent's report with its own code, while known agents keep reporting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentRegistry } from '../../../../server/agents/agent-registry.js';
import type { AgentStatus } from '../../../../shared/wire/messages.js';

const status = (agent: string): AgentStatus => ({ agent, ref: 'main', state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] });
const DAY = 24 * 3600 * 1000;

function clockedRegistry(maxAgents: number) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const reg = new AgentRegistry({ maxAgents, evictAfterMs: 7 * DAY, now: () => now });
  return { reg, advance: (ms: number) => (now += ms) };
}

describe('AgentRegistry bounds', () => {
  it('a full registry refuses a new agent\'s report with NFTSYNC_ERR_AGENT_REGISTRY_FULL; known agents keep reporting', () => {
    const { reg } = clockedRegistry(3);
    for (const a of ['a', 'b', 'c']) reg.report(status(a), '127.0.0.1');
    assert.throws(() => reg.report(status('d'), '127.0.0.1'), { code: 'NFTSYNC_ERR_AGENT_REGISTRY_FULL' });
    assert.equal(reg.connected('d', '127.0.0.1'), false, 'a new connection is not recorded either');
    reg.report({ ...status('a'), state: 'Failed' }, '127.0.0.1');
    assert.equal(reg.get('a')?.status?.state, 'Failed');
    assert.deepEqual(reg.list().map((r) => r.name), ['a', 'b', 'c']);
  });

  it('an agent not connected and unseen for 7 days is forgotten to make room; a connected one never is', () => {
    const { reg, advance } = clockedRegistry(2);
    assert.equal(reg.connected('online', '10.0.0.1'), true);
    reg.report(status('gone'), '10.0.0.2');
    advance(7 * DAY - 1000);
    assert.throws(() => reg.report(status('new'), '10.0.0.3'), { code: 'NFTSYNC_ERR_AGENT_REGISTRY_FULL' });
    advance(2000);
    reg.report(status('new'), '10.0.0.3');
    assert.deepEqual(reg.list().map((r) => r.name), ['new', 'online']);
    advance(30 * DAY);
    assert.deepEqual(reg.list().map((r) => r.name), ['online'], 'the list forgets stale agents too');
    reg.disconnected('online');
    assert.equal(reg.get('online')?.connected, false);
  });
});

describe('AgentRegistry.forget', () => {
  it('forgets a retired agent; refuses one connected here or to a replica, and an unknown name', () => {
    const { reg } = clockedRegistry(10);
    reg.report(status('pulled'), '198.18.0.2');
    reg.connected('live', '198.18.0.3');
    reg.report(status('live'), '198.18.0.3');
    reg.forwarded({ status: status('edge'), address: '198.18.0.4', connected: true }, 'replica-1:7000');
    assert.throws(() => reg.forget('live'), { code: 'NFTSYNC_ERR_AGENT_CONNECTED', message: /connected to this server/ });
    assert.throws(() => reg.forget('edge'), { code: 'NFTSYNC_ERR_AGENT_CONNECTED', message: /replica replica-1:7000/ });
    assert.throws(() => reg.forget('nobody'), { code: 'NFTSYNC_ERR_AGENT_NOT_FOUND' });
    reg.forget('pulled');
    assert.deepEqual(reg.list().map((r) => r.name), ['edge', 'live']);
    reg.disconnected('live');
    reg.forget('live');
    reg.report(status('pulled'), '198.18.0.2');
    assert.deepEqual(reg.list().map((r) => r.name), ['edge', 'pulled'], 'one that reports again is listed again');
  });
});
