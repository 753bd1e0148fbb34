/**
 * A second test reporter for tests/run.sh: at the end of a run, the files that took longest
 * (wall time from the start of their process to its end, and the sum of their top-level tests) and
 * how many tests ran. A run in which no test ran at all fails (exit code 1), whatever else was
 * reported: a suite that finds nothing must never pass quietly.
 * Env: NFT_SYNC_TEST_SLOWEST (how many files to list, default 15). Plain JavaScript: Node loads
 * reporters before the --import hooks (tsx) are in place.
 */
import { relative } from 'node:path';

/** Node's custom reporter contract: an async generator from the run's events to text. */
export default async function* fileTimesReporter(source) {
  /** file -> { first, last (ms since the start), testsMs, tests, failed } */
  const files = new Map();
  const t0 = performance.now();
  let tests = 0;
  for await (const ev of source) {
    const file = ev.data?.file;
    if (file === undefined) continue;
    const now = performance.now() - t0;
    let f = files.get(file);
    if (f === undefined) files.set(file, (f = { first: now, last: now, testsMs: 0, tests: 0, failed: 0 }));
    // The file's own test is dequeued when its process starts and completes when it ends.
    if (ev.type === 'test:dequeue' && ev.data.name === file) f.first = now;
    f.last = now;
    if ((ev.type === 'test:pass' || ev.type === 'test:fail') && ev.data.nesting === 0) {
      f.testsMs += ev.data.details?.duration_ms ?? 0;
      f.tests++;
      tests++;
      if (ev.type === 'test:fail') f.failed++;
    }
  }
  const n = Number(process.env.NFT_SYNC_TEST_SLOWEST ?? 15);
  const slowest = [...files].sort((a, b) => b[1].last - b[1].first - (a[1].last - a[1].first)).slice(0, n);
  yield `\nslowest test files (wall s, tests s, top-level tests) of ${files.size}:\n`;
  for (const [file, f] of slowest) {
    yield `  ${((f.last - f.first) / 1000).toFixed(1).padStart(7)} ${(f.testsMs / 1000).toFixed(1).padStart(7)} ${String(f.tests).padStart(4)}  ${relative(process.cwd(), file)}${f.failed > 0 ? `  (${f.failed} failed)` : ''}\n`;
  }
  if (tests === 0) {
    process.exitCode = 1;
    yield 'no test ran: failing the run\n';
  }
}
