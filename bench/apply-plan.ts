/**
 * Bench row: building the apply transaction of a 10,000-rule ruleset (shared/apply-plan.ts, pure
 * CPU) against a deep copy of the same items (JSON round trip), the least any transformation of
 * them costs, in the same run. Goal: under 50 ms (it was a timed assertion in a unit test, where
 * a loaded machine made it flake).
 */
import { buildApplyTransaction } from '../shared/ruleset/apply-plan.js';
import { parseRuleset } from '../shared/ruleset/ruleset-schema.js';
import { type BenchRow, timeIt } from './bench-row.js';

/** The 10,000-rule ruleset's items: one table, one chain, 10,000 rules. */
function tenThousandRuleItems(): unknown[] {
  const items: unknown[] = [{ table: { family: 'inet', name: 'big' } }, { chain: { family: 'inet', table: 'big', name: 'c' } }];
  for (let i = 0; i < 10_000; i++) {
    items.push({ rule: { family: 'inet', table: 'big', chain: 'c', handle: i + 2, expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 1000 + i } }, { accept: null }] } });
  }
  return items;
}

/** Median of `runs` builds of the 10,000-rule transaction, next to a deep copy of its items. */
export async function benchApplyPlan(runs: number): Promise<BenchRow> {
  const items = tenThousandRuleItems();
  const ruleset = parseRuleset(JSON.stringify({ nftables: items }));
  buildApplyTransaction(ruleset, []); // warm up
  const ours = await timeIt(runs, () => buildApplyTransaction(ruleset, []));
  const baseline = await timeIt(runs, () => JSON.parse(JSON.stringify(items)));
  return { figure: 'build a 10k-rule transaction (ms)', ours, baseline, goal: '< 50', ok: ours < 50 };
}
