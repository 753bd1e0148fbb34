/**
 * Bench row: 100 matches of a pathological agent glob (`*a` x 120 then `*b`, against 253 `a`s:
 * the pattern a backtracking matcher takes exponential time on) through shared/config/agent-glob.ts,
 * against 100 matches of the plain `*b` on the same name in the same run (the least any match
 * that reads the name costs). Goal: under 500 ms (it was a timed assertion in a unit test, where
 * a loaded machine could make it flake; tests/unit/shared/config/agent-glob.test.ts keeps the answers).
 */
import { compileAgentGlob, matchAgentGlob } from '../shared/config/agent-glob.js';
import { type BenchRow, timeIt } from './bench-row.js';

/** Median of `runs` rounds of 100 pathological matches, next to 100 plain `*b` matches. */
export async function benchAgentGlob(runs: number): Promise<BenchRow> {
  const pathological = compileAgentGlob(`${'*a'.repeat(120)}*b`);
  const plain = compileAgentGlob('*b');
  const name = 'a'.repeat(253);
  const hundred = (glob: ReturnType<typeof compileAgentGlob>) => () => {
    for (let i = 0; i < 100; i++) if (matchAgentGlob(glob, name)) throw new Error('the name has no b: no match expected');
  };
  hundred(pathological)(); // warm up
  const ours = await timeIt(runs, hundred(pathological));
  const baseline = await timeIt(runs, hundred(plain));
  return { figure: '100 pathological agent-glob matches (ms)', ours, baseline, goal: '< 500', ok: ours < 500 };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchAgentGlob(Number(process.argv[2] ?? 15))));
