/**
 * Stopping a bench's child process for sure: the cleanup must end (bench/run.ts runs the
 * cleanups in order, the namespaces' removal after), and the child must not outlive the bench.
 */
import type { ChildProcess } from 'node:child_process';

/**
 * Stop `child`: SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it
 * exited (or, if even SIGKILL is not seen within another `graceMs`, then: never hangs).
 */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((done) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      done();
    };
    child.once('exit', finish);
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      timer = setTimeout(finish, graceMs);
    }, graceMs);
    if (!child.kill('SIGTERM')) {
      // No signal could be sent: it is gone already (its exit event may be on its way).
      child.kill('SIGKILL');
    }
  });
}

/**
 * Kill `child` (SIGKILL) when this process exits however it exits, a crash included (an
 * exception thrown in an event handler skips every `finally`). Returns the way to stop doing so.
 */
export function killOnExit(child: ChildProcess): () => void {
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  return () => process.off('exit', kill);
}
