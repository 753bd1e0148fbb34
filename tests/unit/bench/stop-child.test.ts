/**
 * A bench's child process is stopped for sure: one that ignores SIGTERM is killed after the
 * grace time (the cleanup ends), and one still running when the bench process dies of an
 * uncaught exception is killed with it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../../../bench/stop-child.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a child that ignores SIGTERM is killed after the grace time: the cleanup ends', async () => {
  const child = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); process.stdout.write('ready')"], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => child.stdout!.once('data', r));
  const t0 = Date.now();
  await stopChild(child, 300);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(child.signalCode, 'SIGKILL');
  await stopChild(child, 300); // a second stop of a stopped child: at once
});

test('a child still running when the bench dies of an exception thrown in an event handler is killed too', async () => {
  const module = fileURLToPath(new URL('../../../bench/stop-child.ts', import.meta.url));
  const script = `import { spawn } from 'node:child_process';
import { killOnExit } from ${JSON.stringify(module)};
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
killOnExit(child);
process.stdout.write(String(child.pid) + '\\n');
setTimeout(() => { throw new Error('boom'); }, 100);`;
  let out = '';
  try {
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 });
  } catch (err) {
    out = (err as { stdout: string }).stdout;
  }
  const pid = Number(out.trim());
  assert.ok(pid > 0, 'the child was started');
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  const gone = !alive(pid);
  if (!gone) process.kill(pid, 'SIGKILL');
  assert.ok(gone, 'the child died with the bench');
});
