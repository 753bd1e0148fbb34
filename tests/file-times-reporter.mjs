/**
 * A second test reporter for tests/run.sh: at the end of a run, the files whose tests took
 * longest (the sum of their top-level tests' durations, as measured in the file's own process:
 * Node 20 reports a file's events only when the files before it have reported, so the time
 * between events says nothing about a file) and how many tests ran. A run in which no test ran at all fails (exit code 1), whatever else was
 * reported: a suite that finds nothing must never pass quietly. Last come the failed tests, each
 * with its file and the first lines of its error, so that the end of a long log (all a CI summary
 * may keep) names them.
 * Env: NFT_SYNC_TEST_SLOWEST (how many files to list, default 15); NFT_SYNC_TEST_FAILURES (a file:
 * the failed tests are appended to it instead, for tests/run.sh to print after its last run). Plain JavaScript: Node loads
 * reporters before the --import hooks (tsx) are in place.
 */
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';

/** Node's custom reporter contract: an async generator from the run's events to text. */
export default async function* fileTimesReporter(source) {
  /** file -> { testsMs, tests, failed } */
  const files = new Map();
  let tests = 0;
  /** failed tests that have no failed subtest of their own: { file, name, error } */
  const failures = [];
  /** file -> the last lines it wrote to stderr; the runner's notes since the last test ended (a file that fails as a whole says why there) */
  const stderr = new Map();
  let notes = [];
  for await (const ev of source) {
    if (ev.type === 'test:diagnostic') {
      // Such as "… generated asynchronous activity after the test ended …": no file named.
      notes = [...notes, ...lines(ev.data?.message)].slice(-NOTE_LINES);
      continue;
    }
    const file = ev.data?.file;
    if (file === undefined) continue;
    if (ev.type === 'test:stderr') {
      stderr.set(file, [...(stderr.get(file) ?? []), ...lines(ev.data.message)].slice(-NOTE_LINES));
      continue;
    }
    let f = files.get(file);
    if (f === undefined) files.set(file, (f = { testsMs: 0, tests: 0, failed: 0 }));
    if ((ev.type === 'test:pass' || ev.type === 'test:fail') && ev.data.nesting === 0) {
      f.testsMs += ev.data.details?.duration_ms ?? 0;
      f.tests++;
      tests++;
      if (ev.type === 'test:fail' && !todo(ev)) f.failed++;
    }
    // A failing todo test does not fail the run: it is no failure to name.
    if (ev.type === 'test:fail' && !todo(ev)) {
      // A suite, or a test whose subtests failed, fails after them; name the innermost ones only.
      const inner = failures.length > 0 && failures.at(-1).file === file && failures.at(-1).nesting > ev.data.nesting;
      const parent = ev.data.details?.type === 'suite' || ev.data.details?.error?.failureType === 'subtestsFailed';
      // A file that failed as a whole ("test failed": it exited non-zero, did not load, …) is
      // named with what the runner and the file said before.
      const whole = ev.data.nesting === 0 && ev.data.name === file;
      const error = whole ? [...notes, ...(stderr.get(file) ?? []), ...errorText(ev.data.details?.error)] : errorText(ev.data.details?.error);
      if (!inner || !parent) failures.push({ file, nesting: ev.data.nesting, name: ev.data.name, error });
    }
    if (ev.type === 'test:pass' || ev.type === 'test:fail') notes = [];
  }
  const n = Number(process.env.NFT_SYNC_TEST_SLOWEST ?? 15);
  const slowest = [...files].sort((a, b) => b[1].testsMs - a[1].testsMs).slice(0, n);
  yield `\n${tests} top-level tests in ${files.size} files; the slowest (s, top-level tests):\n`;
  for (const [file, f] of slowest) {
    yield `  ${(f.testsMs / 1000).toFixed(1).padStart(7)} ${String(f.tests).padStart(4)}  ${relative(process.cwd(), file)}${f.failed > 0 ? `  (${f.failed} failed)` : ''}\n`;
  }
  if (failures.length > 0) {
    let text = '';
    for (const f of failures) {
      text += `  ${relative(process.cwd(), f.file)}: ${f.name}\n`;
      for (const line of f.error) text += `      ${line}\n`;
    }
    // tests/run.sh runs Node more than once and prints the failures of all its runs last.
    if (process.env.NFT_SYNC_TEST_FAILURES) appendFileSync(process.env.NFT_SYNC_TEST_FAILURES, text);
    else yield `\n${failures.length} failed:\n${text}`;
  }
  if (tests === 0) {
    process.exitCode = 1;
    yield 'no test ran: failing the run\n';
  }
}

/** Whether the event's test is marked todo (`{ todo: true }` or a reason). */
function todo(ev) {
  return ev.data.todo !== undefined && ev.data.todo !== false;
}

/** Lines kept of what a file wrote to stderr, and of the runner's notes, for a file that fails as a whole. */
const NOTE_LINES = 12;

/** The non-empty lines of `text` (clipped to 300 characters each). */
function lines(text) {
  return String(text ?? '').split('\n').filter((l) => l.trim() !== '').map((l) => l.slice(0, 300));
}

/** The first lines of a failed test's error (its cause's message when the runner wrapped it). */
function errorText(error) {
  if (error === undefined) return [];
  const inner = error.cause ?? error;
  const text = String(inner?.stack ?? inner?.message ?? inner);
  return text.split('\n').slice(0, 8).map((l) => l.slice(0, 300));
}
