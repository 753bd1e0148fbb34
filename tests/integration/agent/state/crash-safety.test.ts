/**
 * Crash safety: a real `nft-sync agent` process is killed with SIGKILL at random moments while
 * it applies a new revision, 50 times. After every kill the namespace must hold exactly the old
 * or the new ruleset (normalised listings compared with both revisions), never a mix and never
 * nothing; the restarted agent must then converge to the new revision. The two revisions have
 * 3,000 rules each (an apply takes on the order of 100 ms) and manage different second tables,
 * so a forgotten `previouslyManaged` would show as a leftover table.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { normaliseRuleset } from '../../../../shared/ruleset/ruleset-normalise.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import type { TableRef } from '../../../../shared/ruleset/ruleset-types.js';
import { startCli } from '../../../helpers/cli-process.js';
import { createNetns } from '../../../helpers/netns.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

const KILLS = 50;
const RULES = 3000;

function revision(base: number, extraTable: string): string {
  const items: unknown[] = [
    { table: { family: 'inet', name: 'nft_sync' } },
    { chain: { family: 'inet', table: 'nft_sync', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    { table: { family: 'ip', name: extraTable } },
  ];
  for (let i = 0; i < RULES; i++) {
    items.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: base + i } }, { accept: null }] } });
  }
  return `${JSON.stringify({ nftables: items }, null, 1)}\n`;
}

test(`kill -9 during apply, ${KILLS} times: always exactly the old or the new ruleset, and the restarted agent converges`, async (t) => {
  const f = await startServerFixture(t);
  const ns = createNetns(t, 'crash');
  const stateDir = makeTempDir(t, 'nft-sync-crash-');
  const texts = [revision(10_000, 'only_a'), revision(20_000, 'only_b')];
  const commits = [f.push({ 'rulesets/default.json': texts[0]! }, 'A'), f.push({ 'rulesets/default.json': texts[1]! }, 'B')];
  const tables: TableRef[] = [
    { family: 'inet', name: 'nft_sync' },
    { family: 'ip', name: 'only_a' },
    { family: 'ip', name: 'only_b' },
  ];
  const norm = (text: string) => JSON.stringify(normaliseRuleset(parseRuleset(text), tables));
  const wanted = texts.map(norm);
  const onHost = () => norm(ns.nft(['-j', 'list', 'ruleset']));
  const setMain = (i: number) => f.git(['update-ref', 'refs/heads/main', commits[i]!], f.bare);
  const confirmed = (i: number) => {
    try {
      const st = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { commit?: string; pending?: unknown };
      return st.commit === commits[i] && st.pending === undefined;
    } catch {
      return false;
    }
  };
  const start = () =>
    startCli(t, ['agent', '--server', `${f.host}:${f.port}`, '--ref', 'main', '--name', 'host-1', '--nft', ns.nftCommand, '--state-dir', stateDir, '--log-level', 'info']);
  const converge = async (i: number, ms = 20_000) => {
    const t0 = Date.now();
    while (!(confirmed(i) && onHost() === wanted[i])) {
      if (Date.now() - t0 > ms) throw new Error(`agent did not converge to revision ${i} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  // SIGKILL ends the agent, not an nft it started: that nft still commits its transaction (or
  // not) as a whole. A listing taken while a transaction commits can show a mix (nft lists with
  // several netlink dumps), so look only once the agent's nft processes are gone. The orphaned
  // `nft monitor` stays until its next write fails; it is not waited for.
  const settled = async () => {
    const t0 = Date.now();
    for (;;) {
      const pids = execFileSync('ip', ['netns', 'pids', ns.name], { encoding: 'utf8' }).split('\n').filter(Boolean);
      const busy = pids.filter((p) => {
        try {
          return !readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('monitor');
        } catch {
          return false;
        }
      });
      if (busy.length === 0) return;
      if (Date.now() - t0 > 10_000) throw new Error(`nft processes still running in ${ns.name}: ${busy.join(' ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  // The orphaned monitors of killed agents die at their next write; end any still waiting.
  t.after(() => {
    let pids: string[] = [];
    try {
      pids = execFileSync('ip', ['netns', 'pids', ns.name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
    } catch {
      // the namespace is already gone
    }
    for (const p of pids) {
      try {
        if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('monitor')) process.kill(Number(p), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  let current = 1; // main points at B
  let agent = start();
  await converge(current);
  const seen = { old: 0, new: 0 };
  for (let k = 0; k < KILLS; k++) {
    const target = 1 - current;
    await agent.waitFor(/"msg":"connected"/, 20_000);
    await new Promise((r) => setTimeout(r, 50));
    setMain(target);
    await new Promise((r) => setTimeout(r, Math.random() * 250));
    await agent.stop('SIGKILL');
    await settled();
    const now = onHost();
    if (now !== wanted[current] && now !== wanted[target]) {
      const { diffNormalised } = await import('../../../../shared/ruleset/ruleset-normalise.js');
      const h = normaliseRuleset({ nftables: JSON.parse(ns.nft(['-j', 'list', 'ruleset'])).nftables }, tables);
      t.diagnostic('differences from old: ' + JSON.stringify(diffNormalised(normaliseRuleset(parseRuleset(texts[current]!), tables), h).slice(0, 5)));
      t.diagnostic('differences from new: ' + JSON.stringify(diffNormalised(normaliseRuleset(parseRuleset(texts[target]!), tables), h).slice(0, 5)));
    }
    assert.ok(now === wanted[current] || now === wanted[target], `kill ${k}: the namespace holds neither the old nor the new ruleset`);
    seen[now === wanted[target] ? 'new' : 'old']++;
    agent = start();
    await converge(target);
    current = target;
  }
  t.diagnostic(`after the kill the namespace held the old ruleset ${seen.old} times, the new one ${seen.new} times`);
  await agent.stop();
});
