/**
 * The drift event sources start their processes through the nft runner (NftRunner.monitor and
 * spawnBeside), like nft itself, so a fake nft stands in here: a fake `nft monitor` and a fake
 * listener whose lines the test writes. No root, no python, no namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { NftMonitorEvents, openDriftEvents, type DriftSignal } from '../../../../agent/drift/drift-events.js';
import { NetlinkEvents } from '../../../../agent/drift/netlink-events.js';
import { fakeNft } from '../../../helpers/fake-nft-runner.js';

const quiet = pino({ level: 'silent' });

/** Resolves once `signals` holds `n` entries. */
async function until(signals: DriftSignal[], n: number): Promise<void> {
  for (let i = 0; i < 1000 && signals.length < n; i++) await new Promise((r) => setImmediate(r));
  assert.ok(signals.length >= n, `expected ${n} signals, got ${JSON.stringify(signals)}`);
}

test('fake nft monitor: the fallback source starts `nft -j monitor` through the runner; its lines become signals; stop kills it', async () => {
  const nft = fakeNft();
  const signals: DriftSignal[] = [];
  const source = new NftMonitorEvents(nft, (s) => signals.push(s), quiet);
  source.start();
  assert.equal(nft.processes.length, 1);
  const monitor = nft.processes[0]!;
  assert.deepEqual(monitor.argv, ['fake-nft', '-j', 'monitor']);
  monitor.print('{"add": {"rule": {"family": "inet", "table": "nft_sync", "chain": "input", "handle": 9}}}');
  monitor.print('# lost some netlink events');
  await until(signals, 3);
  assert.deepEqual(signals.map((s) => s.kind), ['ready', 'monitor', 'lost']);
  const ev = signals[1] as Extract<DriftSignal, { kind: 'monitor' }>;
  assert.equal(ev.event.table, 'nft_sync');
  source.stop();
  assert.equal(monitor.killed, true);
});

test('fake nft listener: the netlink source runs its program beside nft through the runner; ready, tx and pause go through the fake', async () => {
  const nft = fakeNft();
  const signals: DriftSignal[] = [];
  const source = new NetlinkEvents(nft, ['python3', 'nft-events.py'], (s) => signals.push(s), () => {});
  source.start();
  const listener = nft.processes[0]!;
  assert.deepEqual(listener.argv, ['python3', 'nft-events.py']);
  listener.print('{"t":"ready","gen":7}');
  listener.print('{"t":"tx","gen":8,"pid":4242,"proc":"nft","tables":[["inet","nft_sync"]],"events":[],"truncated":false}');
  await until(signals, 2);
  assert.deepEqual(signals[0], { kind: 'ready', gen: 7 });
  const tx = signals[1]!;
  assert.equal(tx.kind === 'tx' && tx.tx.pid, 4242);
  const paused = source.pause();
  for (let i = 0; i < 1000 && listener.written === ''; i++) await new Promise((r) => setImmediate(r));
  assert.equal(listener.written, 'pause\n');
  listener.print('{"t":"paused","gen":8}');
  assert.equal(await paused, 8);
  source.stop();
  assert.equal(listener.killed, true);
});

test('openDriftEvents: an --nft command that does not end in nft falls back to nft monitor (through the same runner)', () => {
  const nft = { ...fakeNft(), argv: ['sudo', 'nft-wrapper'] };
  const source = openDriftEvents(nft, () => {}, quiet);
  assert.equal(source.exact, false);
  assert.ok(source instanceof NftMonitorEvents);
});
