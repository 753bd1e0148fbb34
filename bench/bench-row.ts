/** What every benchmark produces and the timing helpers they share. */

/** One row of the `npm run bench` table: our figure next to its baseline from the same run. */
export interface BenchRow {
  figure: string;
  ours: number;
  baseline: number;
  goal: string;
  ok: boolean;
}

/** The median of `xs` (the upper one for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Run `f` `runs` times, one after the other; the median time in ms. */
export async function timeIt(runs: number, f: () => unknown): Promise<number> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return median(out);
}
