/**
 * Loads through an nft started ahead (createNftRunner warmLoads, host/warm-nft.ts), in throwaway
 * namespaces: the batch applies through it, a refused one maps as before, its PID counts as the
 * agent's only from the load that uses it, a dead one leaves the load to a fresh nft, its time
 * limit runs from its use, and close() leaves no child behind and nothing changed.
 */
import { childPidsRunning } from '../../helpers/child-pids.js';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createNftRunner, type NftRunner } from '../../../host/nft-runner.js';
import { NftSyncError } from '../../../shared/errors.js';
import { createNetns } from '../../helpers/netns.js';
import { makeTempDir } from '../../helpers/temp-dir.js';
import { waitFor } from '../../helpers/wait-for.js';

const table = (name: string) => JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name } } }] });

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function closeAfter(t: TestContext, nft: NftRunner): void {
  t.after(() => nft.close());
}

test('a batch applies through the nft started ahead; its PID counts as the agent\'s at the load, not at its start; a fresh one waits after warm() again', async (t) => {
  const ns = createNetns(t, 'warm');
  const pids: number[] = [];
  const nft = createNftRunner(ns.nftCommand, { warmLoads: true }).withHooks({ spawned: (pid) => pids.push(pid) });
  closeAfter(t, nft);
  await nft.warm();
  const [waiting] = childPidsRunning();
  assert.ok(waiting !== undefined, 'an nft waits');
  assert.deepEqual(pids, [], 'not counted as the agent\'s while it waits');
  await nft.applyJson(table('warm1'));
  assert.deepEqual(pids, [waiting], 'the waiting nft ran the load, counted at its use');
  assert.match(ns.nft(['list', 'tables']), /table inet warm1/);
  assert.deepEqual(childPidsRunning(), [], 'used once');
  await nft.warm();
  await nft.applyJson(table('warm2'));
  assert.equal(pids.length, 2);
  assert.notEqual(pids[1], waiting);
  assert.match(ns.nft(['list', 'tables']), /table inet warm2/);
});

test('a small batch reaches the nft started ahead at once: it commits while the event loop is still busy (an early element batch runs while the agent plans); a big one still applies', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const ns = createNetns(t, 'warmnow');
  const nft = createNftRunner(ns.nftCommand, { warmLoads: true });
  closeAfter(t, nft);
  await nft.warm();
  const done = nft.applyJson(table('now'));
  // No turn of the event loop from here until the table is seen (or 3 s passed).
  const until = Date.now() + 3000;
  let seen = false;
  while (!seen && Date.now() < until) seen = /table inet now/.test(execFileSync('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'tables'], { encoding: 'utf8' }));
  assert.ok(seen, 'committed before the event loop turned');
  await done;
  await nft.warm();
  // Over 64 KiB: written in the background, as before.
  const big = JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name: 'big' } } }, { add: { set: { family: 'inet', table: 'big', name: 's', type: 'ipv4_addr', elem: Array.from({ length: 6000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`) } } }] });
  assert.ok(big.length > 64 * 1024);
  await nft.applyJson(big);
  assert.match(ns.nft(['list', 'set', 'inet', 'big', 's']), /198\.18\.23\.111/);
});

test('a batch nft refuses through the nft started ahead is NFTSYNC_ERR_NFT_APPLY with nft\'s message, nothing changed', async (t) => {
  const ns = createNetns(t, 'warmbad');
  const nft = createNftRunner(ns.nftCommand, { warmLoads: true });
  closeAfter(t, nft);
  await nft.warm();
  const bad = JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name: 'ok' } } }, { add: { chain: { family: 'inet', table: 'missing', name: 'c' } } }] });
  await assert.rejects(nft.applyJson(bad), (err: unknown) => err instanceof NftSyncError && err.code === 'NFTSYNC_ERR_NFT_APPLY' && /No such file or directory|does not exist/.test(err.message));
  assert.doesNotMatch(ns.nft(['list', 'tables']), /table inet ok/, 'atomic: nothing applied');
});

test('close() kills the nft waiting: no child left, nothing applied; a dead waiting nft leaves the load to a fresh one', async (t) => {
  const ns = createNetns(t, 'warmclose');
  const nft = createNftRunner(ns.nftCommand, { warmLoads: true });
  await nft.warm();
  const [waiting] = childPidsRunning();
  assert.ok(waiting !== undefined);
  process.kill(waiting, 'SIGKILL');
  // Gone (reaped: the runner has seen it exit), not a guessed 100 ms.
  await waitFor(() => !alive(waiting), { what: 'the waiting nft killed', timeoutMs: 5000 });
  await nft.applyJson(table('cold'));
  assert.match(ns.nft(['list', 'tables']), /table inet cold/, 'applied by an nft started for it');
  await nft.warm();
  const [second] = childPidsRunning();
  assert.ok(second !== undefined);
  await nft.close();
  assert.equal(alive(second), false, 'killed');
  assert.deepEqual(childPidsRunning(), []);
  await nft.warm();
  assert.deepEqual(childPidsRunning(), [], 'none started after close');
  assert.equal(ns.nft(['list', 'tables']).trim().split('\n').length, 1, 'only the table loaded cold');
});

test('the time limit of a load through the nft started ahead runs from its use (a fake hung nft)', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-warm-hung-');
  const fake = join(dir, 'nft');
  // Opens its input as nft does (then hangs): a waiting child.
  writeFileSync(fake, '#!/bin/sh\nexec 3</dev/stdin\nexec sleep 600\n');
  chmodSync(fake, 0o755);
  const pids: number[] = [];
  const nft = createNftRunner(fake, { warmLoads: true, timeouts: { apply: 300 } }).withHooks({ spawned: (pid) => pids.push(pid) });
  closeAfter(t, nft);
  await nft.warm();
  // Waiting once it holds its input; `sleep 600` a moment later (the shell's exec).
  const [waiting] = await waitFor(() => (childPidsRunning('sleep 600').length > 0 ? childPidsRunning('sleep 600') : undefined), { what: 'the fake waiting', timeoutMs: 5000 });
  assert.ok(waiting !== undefined, 'the fake waits');
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  await assert.rejects(nft.applyJson(table('x')), (err: unknown) => err instanceof NftSyncError && err.code === 'NFTSYNC_ERR_NFT_TIMEOUT');
  const ms = performance.now() - t0;
  assert.ok(ms >= 250 && ms < 5000, `${ms} ms`);
  assert.deepEqual(pids, [waiting], 'the waiting one was used (and killed at its limit)');
  await waitFor(() => !alive(waiting), { what: 'the waiting fake killed', timeoutMs: 5000 });
});

test('security (review): the FIFO\'s path swapped before it is opened (a symlink to another\'s file, a plain file) is refused: nft never reads another\'s batch, the file named is not written, loads start nft as usual', async (t) => {
  for (const swap of ['symlink', 'file'] as const) {
    const ns = createNetns(t, `warmswap${swap[0]}`);
    const dir = makeTempDir(t, 'nft-sync-warm-swap-');
    // The attacker's batch, and a `mkfifo` standing in for one who wins the race between its
    // mkfifo and the open (possible where others may replace entries: a TMPDIR not sticky).
    const evil = join(dir, 'evil.json');
    writeFileSync(evil, table('evil'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const fake = join(bin, 'mkfifo');
    const plant = swap === 'symlink' ? `ln -s ${evil} "$3"` : `cp ${evil} "$3"`;
    writeFileSync(fake, `#!/bin/sh\n# mkfifo -m 600 PATH, answered by the attacker\n${plant}\n`);
    chmodSync(fake, 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? ''}`;
    const nft = createNftRunner(ns.nftCommand, { warmLoads: true, tmpDir: dir });
    try {
      await nft.warm();
    } finally {
      process.env.PATH = path;
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(ns.nft(['list', 'tables']), /evil/, `${swap}: nft read the attacker's file as its batch`);
    assert.deepEqual(childPidsRunning(), [], `${swap}: no nft waits on another's file`);
    await nft.applyJson(table(`cold${swap}`));
    await nft.close();
    assert.equal(readFileSync(evil, 'utf8'), table('evil'), `${swap}: the file named was not written`);
    assert.match(ns.nft(['list', 'tables']), new RegExp(`table inet cold${swap}`));
    assert.doesNotMatch(ns.nft(['list', 'tables']), /evil/);
  }
});

test('review: a waiting nft killed while the agent is busy (its exit not yet seen by the event loop) is not handed the load: a fresh nft applies it, no NFTSYNC_ERR_NFT_APPLY (which records the revision as failed)', async (t) => {
  const ns = createNetns(t, 'warmzomb');
  const nft = createNftRunner(ns.nftCommand, { warmLoads: true });
  closeAfter(t, nft);
  await nft.warm();
  const [waiting] = childPidsRunning();
  assert.ok(waiting !== undefined);
  process.kill(waiting, 'SIGKILL');
  // The agent busy (planning a big ruleset): the event loop has not reaped the child yet.
  const until = performance.now() + 2000;
  const state = (): string => {
    try {
      const stat = readFileSync(`/proc/${waiting}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      return 'gone';
    }
  };
  while (state() !== 'Z' && performance.now() < until) {
    // busy, as a synchronous plan is
  }
  assert.equal(state(), 'Z', 'dead, not reaped');
  await nft.applyJson(table('afterkill'));
  assert.match(ns.nft(['list', 'tables']), /table inet afterkill/);
});

test('review: an nft slower to start than the wait (a busy host) is not kept, and the next load starts another: warm loads stop only after several slow starts in a row (one slow start turned them off for the agent\'s life) (a fake nft)', async (t) => {
  const { SLOW_STARTS_MAX } = await import('../../../host/warm-nft.js');
  const dir = makeTempDir(t, 'nft-sync-warm-slow-');
  const fake = join(dir, 'nft');
  const slow = join(dir, 'slow');
  // Opens its input as nft does, after 2.5 s while the file `slow` exists; then waits.
  writeFileSync(fake, `#!/bin/sh\n[ -e ${slow} ] && sleep 2.5\nexec 3</dev/stdin\nexec sleep 601\n`);
  chmodSync(fake, 0o755);
  writeFileSync(slow, '');
  const nft = createNftRunner(fake, { warmLoads: true });
  closeAfter(t, nft);
  await nft.warm();
  assert.deepEqual(childPidsRunning('sleep 601'), [], 'the slow one was not kept');
  const { rmSync } = await import('node:fs');
  rmSync(slow);
  await nft.warm();
  await waitFor(() => childPidsRunning('sleep 601').length === 1, { what: 'the next start, not slow, waiting', timeoutMs: 5000 });
  await nft.close();
  // SLOW_STARTS_MAX slow starts in a row: no more starts.
  const again = createNftRunner(fake, { warmLoads: true });
  closeAfter(t, again);
  writeFileSync(slow, '');
  for (let i = 0; i < SLOW_STARTS_MAX; i++) await again.warm();
  rmSync(slow);
  await again.warm();
  // A start would have reached its exec by now.
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(childPidsRunning('sleep 601'), [], `stopped after ${SLOW_STARTS_MAX} slow starts`);
});

/** PIDs of processes whose stdin is a FIFO this process made in `dir` (a warm nft's, or a child's of it). */
function onFifoIn(dir: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/fd/0`).startsWith(`${dir}/.nft-sync-fifo-${process.pid}-`)) out.push(Number(d));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

test('review: a command that forks nft rather than exec it (a wrapper script without exec) leaves no nft behind when its slow starts are killed: the killed shell\'s nft, orphaned, blocked for ever opening its input again (nft -j reopens /dev/stdin for its second parser)', async (t) => {
  const ns = createNetns(t, 'warmwrap');
  const dir = makeTempDir(t, 'nft-sync-warm-wrap-');
  const wrapper = join(dir, 'nft-wrapper');
  writeFileSync(wrapper, `#!/bin/sh\n${ns.nftCommand} "$@"\n`);
  chmodSync(wrapper, 0o755);
  t.after(() => {
    for (const pid of onFifoIn(dir)) process.kill(pid, 'SIGKILL');
  });
  const nft = createNftRunner(wrapper, { warmLoads: true, tmpDir: dir });
  closeAfter(t, nft);
  // The shell never holds the FIFO itself (its nft does): each start is slow, and killed.
  await nft.warm();
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(onFifoIn(dir), [], 'no process left on the killed start\'s input');
  await nft.applyJson(table('wrapped'));
  assert.match(ns.nft(['list', 'tables']), /table inet wrapped/);
});

test('attack6: through the nft started ahead, a batch of exactly 64 KiB (written at once), one a byte over, and one under 64 Ki characters but over 64 KiB of UTF-8 (written in the background) all apply', async (t) => {
  const ns = createNetns(t, 'warm64');
  const nft = createNftRunner(ns.nftCommand, { warmLoads: true });
  closeAfter(t, nft);
  // A table with a comment of `comment` and a set of addresses, padded with spaces (JSON whitespace) to `bytes` bytes of UTF-8.
  const sized = (name: string, bytes: number, comment = ''): string => {
    const json = JSON.stringify({ nftables: [{ add: { table: { family: 'inet', name, ...(comment && { comment }) } } }, { add: { set: { family: 'inet', table: name, name: 's', type: 'ipv4_addr', elem: Array.from({ length: 2500 }, (_, i) => `198.18.${i >> 8}.${i & 255}`) } } }] });
    assert.ok(Buffer.byteLength(json) <= bytes, `${Buffer.byteLength(json)} <= ${bytes}`);
    return json + ' '.repeat(bytes - Buffer.byteLength(json));
  };
  for (const [name, bytes, comment] of [['at64k', 64 * 1024, ''], ['over64k', 64 * 1024 + 1, ''], ['utf8', 64 * 1024 + 30, 'é'.repeat(60)]] as const) {
    await nft.warm();
    const input = sized(name, bytes, comment);
    assert.equal(Buffer.byteLength(input), bytes);
    if (name === 'utf8') assert.ok(input.length <= 64 * 1024, 'fewer characters than bytes');
    await nft.applyJson(input);
    assert.match(ns.nft(['list', 'set', 'inet', name, 's']), /198\.18\.9\.195/, name);
  }
});
