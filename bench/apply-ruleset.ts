/**
 * Measures applyRuleset against a bare `nft -j -f` in a throwaway namespace (needs root):
 * default.json and a 10,000-rule chain; medians. Run from the repository root:
 * `node --import tsx bench/apply-ruleset.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { applyRuleset } from '../agent/reconcile/apply-ruleset.js';
import { createNftRunner } from '../host/nft-runner.js';
import { parseRuleset } from '../shared/ruleset/ruleset-schema.js';
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
const ns = 'bench-' + process.pid;
execFileSync('ip', ['netns', 'add', ns]);
try {
  const bytes = readFileSync('repo-template/rulesets/default.json');
  const ruleset = parseRuleset(bytes);
  const tx = JSON.stringify(buildApplyTransaction(ruleset, []));
  writeFileSync('/tmp/bench-tx.json', tx);
  const nft = createNftRunner(`ip netns exec ${ns} nft`);
  const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!.toFixed(1);
  const time = async (f: () => Promise<unknown> | unknown) => { const r: number[] = []; for (let i = 0; i < 15; i++) { const t0 = performance.now(); await f(); r.push(performance.now() - t0); } return med(r); };
  console.log('raw ip netns exec nft -j -f file:', await time(() => execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', '-f', '/tmp/bench-tx.json'])), 'ms');
  console.log('runner.applyJson:', await time(() => nft.applyJson(tx)), 'ms');
  console.log('applyRuleset verify off:', await time(() => applyRuleset({ nft, ruleset, previouslyManaged: [], verify: 'off' })), 'ms');
  console.log('applyRuleset verify auto(full):', await time(() => applyRuleset({ nft, ruleset })), 'ms');
  console.log('applyRuleset check+auto:', await time(() => applyRuleset({ nft, ruleset, check: true })), 'ms');
  // 10k rules
  const items: unknown[] = [{ table: { family: 'inet', name: 'big' } }, { chain: { family: 'inet', table: 'big', name: 'c' } }];
  for (let i = 0; i < 10000; i++) items.push({ rule: { family: 'inet', table: 'big', chain: 'c', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 1000 + (i % 60000) } }, { accept: null }] } });
  const big = parseRuleset(JSON.stringify({ nftables: items }));
  const bigTx = JSON.stringify(buildApplyTransaction(big, []));
  writeFileSync('/tmp/bench-big.json', bigTx);
  const t5 = (f: () => unknown) => { const r: number[] = []; for (let i = 0; i < 5; i++) { const t0 = performance.now(); f(); r.push(performance.now() - t0); } return med(r); };
  console.log('build 10k tx (incl stringify):', t5(() => JSON.stringify(buildApplyTransaction(big, []))), 'ms; build only:', t5(() => buildApplyTransaction(big, [])), 'ms; parseRuleset 10k:', t5(() => parseRuleset(JSON.stringify({ nftables: items }))), 'ms');
  const r5 = async (f: () => Promise<unknown> | unknown) => { const r: number[] = []; for (let i = 0; i < 5; i++) { const t0 = performance.now(); await f(); r.push(performance.now() - t0); } return med(r); };
  console.log('10k raw nft -j -f:', await r5(() => execFileSync('ip', ['netns', 'exec', ns, 'nft', '-j', '-f', '/tmp/bench-big.json'])), 'ms');
  console.log('10k applyRuleset off:', await r5(() => applyRuleset({ nft, ruleset: big, verify: 'off' })), 'ms');
  console.log('10k applyRuleset full:', await r5(() => applyRuleset({ nft, ruleset: big })), 'ms');
} finally { execFileSync('ip', ['netns', 'delete', ns]); }
