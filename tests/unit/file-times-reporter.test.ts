/**
 * tests/file-times-reporter.mjs and tests/run.sh, run for real on small test files written for
 * the test: the end of a run's log names every failed test, with what it said.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');

/** Test files `files` (name -> text) in a temporary directory; their paths. */
function testFiles(t: TestContext, files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-reporter-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return Object.entries(files).map(([name, text]) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  });
}

/** The environment of a test run of its own (not a child of this one). */
function ownRun(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  // Under tests/run.sh this names the outer run's list of failures: the failures made on purpose
  // here would be appended to it (and the reporter's own output here would lack them).
  delete env.NFT_SYNC_TEST_FAILURES;
  return env;
}

/** `command` run in the repository, stdout and stderr in one log (as CI keeps it); its last lines. */
function logTail(command: string, args: string[], lines: number): { status: number | null; tail: string } {
  const r = spawnSync('bash', ['-c', `"$@" 2>&1`, 'run', command, ...args], { cwd: ROOT, env: ownRun(), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, tail: r.stdout.trimEnd().split('\n').slice(-lines).join('\n') };
}

/** The reporter alone on `files`: its output. */
function reporterOn(files: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=./tests/file-times-reporter.mjs', ...files], { cwd: ROOT, env: ownRun(), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout };
}

test('tests/run.sh ends with the failed tests of all its runs: one among the files run side by side is named after the serial files\' run, not only before it (CI keeps the tail)', (t) => {
  const files = testFiles(t, {
    'side.test.mjs': "import { test } from 'node:test';\ntest('side by side fails', () => { throw new Error('boom'); });\n",
    'alone.test.mjs': "// tests/run.sh: serial (a test of the runner)\nimport { test } from 'node:test';\nfor (let i = 0; i < 5; i++) test(`alone ${i}`, () => {});\n",
  });
  const { status, tail } = logTail('tests/run.sh', files, 12);
  assert.notEqual(status, 0);
  assert.match(tail, /side\.test\.mjs: side by side fails/, tail);
  assert.match(tail, /boom/);
});

test('a file that fails as a whole is listed with what the runner and the file said, not only "test failed": an unhandled rejection after its tests passed, a file that does not load', (t) => {
  const files = testFiles(t, {
    'late.test.mjs': "import { test } from 'node:test';\ntest('passes', () => { setTimeout(() => Promise.reject(new Error('late rejection 4711')), 10); });\n",
    'broken.test.mjs': "import { test } from 'node:test';\nthis is not JavaScript\n",
  });
  const { status, out } = reporterOn(files);
  assert.notEqual(status, 0);
  const listed = out.slice(out.indexOf('failed:'));
  assert.match(listed, /late\.test\.mjs[^\n]*\n[^\n]*late rejection 4711/, out);
  assert.match(listed, /broken\.test\.mjs[^]*SyntaxError/, out);
});

test('a failing todo test, which does not fail the run, is not listed as failed', (t) => {
  const files = testFiles(t, {
    'todo.test.mjs': "import { test } from 'node:test';\ntest('fine', () => {});\ntest('not done yet', { todo: true }, () => { throw new Error('todo'); });\n",
  });
  const { status, out } = reporterOn(files);
  assert.equal(status, 0, out);
  assert.doesNotMatch(out, /failed/, out);
});

test('only the innermost failed tests are listed: a test whose subtest failed is not listed again ("1 subtest failed"), as a suite is not', (t) => {
  const files = testFiles(t, {
    'nested.test.mjs': "import { describe, test } from 'node:test';\ndescribe('a suite', () => { test('in a suite', () => { throw new Error('one'); }); });\ntest('a parent', async (t) => { await t.test('a subtest', () => { throw new Error('two'); }); });\n",
  });
  const { out } = reporterOn(files);
  const listed = out.slice(out.indexOf('failed:'));
  assert.match(out, /\n2 failed:\n/, out);
  assert.match(listed, /: in a suite\n/);
  assert.match(listed, /: a subtest\n/);
  assert.doesNotMatch(listed, /: a parent\n|: a suite\n|subtest failed/, out);
});
