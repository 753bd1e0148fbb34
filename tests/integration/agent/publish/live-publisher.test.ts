/**
 * The live-change publisher inside the agent daemon, against a real server (in this process) and
 * real nft in a throwaway namespace: a rule added by hand is published (not healed) as a commit
 * authored by the agent, applied back, and not published again; a state the server refuses
 * (no publishers entry) is reported as a `Published` condition with reason PublishDenied.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runAgentDaemon } from '../../../../agent/agent-daemon.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { createNetns } from '../../../helpers/netns.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';

const TOKEN = 'live-publisher-token-0123456789';

async function until<T>(what: string, fn: () => T | undefined, ms: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function daemon(t: TestContext, yaml: string) {
  const f = await startServerFixture(t, { tokens: parseTokenList(`${TOKEN} ops\n`) });
  f.push({ 'nft-sync.yaml': yaml }, 'publishers');
  const ns = createNetns(t, 'lpub');
  const ac = new AbortController();
  let applied = 0;
  const run = runAgentDaemon(
    {
      host: f.host, port: f.port, agent: 'node-1', ref: 'main', token: TOKEN, nft: createNftRunner(ns.nftCommand),
      stateDir: join(makeTempDir(t), 'state'), logger: quietLogger, confirmWindowMs: 0, publish: { quietMs: 200 },
      onOutcome: (o) => {
        if (o.kind === 'applied') applied++;
      },
    },
    ac.signal,
  );
  t.after(async () => {
    ac.abort();
    await run;
  });
  await until('the first apply', () => (applied > 0 ? true : undefined), 15_000);
  const status = () => f.server.wire.registry.list().find((a) => a.name === 'node-1')?.status;
  return { f, ns, status, applied: () => applied };
}

test('a rule added by hand is published as a commit by the agent, stays in force, and is not published again', async (t) => {
  const d = await daemon(t, 'rulesets:\n  default:\n    publishers: ["node-*"]\n');
  const before = d.f.git(['rev-list', '--count', 'main'], d.f.bare);
  d.ns.nft(['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', '8080', 'accept']);
  await until('the published commit', () => (d.f.git(['log', '-1', '--format=%an', 'main'], d.f.bare) === 'node-1' ? true : undefined), 15_000);
  assert.match(d.f.git(['show', 'main:rulesets/default.json'], d.f.bare), /"right": 8080/);
  await until('the published revision in force', () => (d.status()?.commit === d.f.git(['rev-parse', 'main'], d.f.bare) ? true : undefined), 15_000);
  assert.match(d.ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 8080 accept/, 'published, not healed');
  const published = d.status()?.conditions.find((c) => c.type === 'Published');
  assert.equal(published?.reason, 'Published');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(Number(d.f.git(['rev-list', '--count', 'main'], d.f.bare)), Number(before) + 1, 'one change, one commit: nothing loops');
});

test('without a publishers entry the change is refused: Published condition PublishDenied, nothing committed, not healed', async (t) => {
  const d = await daemon(t, 'version: 1\n');
  const head = d.f.git(['rev-parse', 'main'], d.f.bare);
  d.ns.nft(['add', 'rule', 'inet', 'nft_sync', 'input', 'tcp', 'dport', '8080', 'accept']);
  const c = await until('the PublishDenied condition', () => d.status()?.conditions.find((k) => k.reason === 'PublishDenied'), 15_000);
  assert.equal(c.status, 'False');
  assert.match(c.message ?? '', /NFTSYNC_ERR_PUBLISH_DENIED/);
  assert.equal(d.f.git(['rev-parse', 'main'], d.f.bare), head);
  assert.match(d.ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 8080 accept/);
});
