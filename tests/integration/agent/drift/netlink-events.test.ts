/**
 * The drift listener (agent/drift/nft-events.py) against the real kernel, in throwaway namespaces:
 * what it reports for a transaction, pause and resume with generation ids, and the element keys
 * of each supported set type, rendered back and replayed as the heal would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { listenerProgram, NetlinkEvents } from '../../../../agent/drift/netlink-events.js';
import type { DriftSignal } from '../../../../agent/drift/drift-events.js';
import { elementHealBatch, ElementDrift } from '../../../../shared/drift/element-drift.js';
import { kernelElements, setShape } from '../../../../shared/ruleset/element-key.js';
import { createNetns, type Netns } from '../../../helpers/netns.js';
import { createNftRunner } from '../../../../host/nft-runner.js';

function listen(t: TestContext, ns: Netns) {
  const signals: DriftSignal[] = [];
  const errors: string[] = [];
  const nftRunner = createNftRunner(ns.nftCommand);
  const l = new NetlinkEvents(nftRunner, listenerProgram(nftRunner), (s) => signals.push(s), (m) => errors.push(m));
  t.after(() => l.stop());
  const next = async <K extends DriftSignal['kind']>(kind: K, ms = 5000): Promise<Extract<DriftSignal, { kind: K }>> => {
    const t0 = Date.now();
    for (;;) {
      const i = signals.findIndex((s) => s.kind === kind);
      if (i >= 0) return signals.splice(i, 1)[0] as Extract<DriftSignal, { kind: K }>;
      if (Date.now() - t0 > ms) throw new Error(`no ${kind} within ${ms} ms; errors: ${errors.join('; ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { l, signals, errors, next };
}

/** Run nft in the namespace as a child whose PID we know. */
function nftWithPid(ns: Netns, script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns.name, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => (code === 0 ? resolve(child.pid!) : reject(new Error(err))));
    child.stdin.end(script);
  });
}

test('a transaction is reported once, with its generation id, committing PID and element keys', async (t) => {
  const ns = createNetns(t, 'nle');
  const { l, next } = listen(t, ns);
  l.start();
  const ready = await next('ready');
  const pid = await nftWithPid(ns, 'table inet t {\n set s { type ipv4_addr; elements = { 192.0.2.7 }; }\n chain c { type filter hook input priority 0; tcp dport 22 accept; }\n}\n');
  const { tx } = await next('tx');
  assert.equal(tx.gen, ready.gen! + 1);
  assert.equal(tx.pid, pid, 'ip netns exec execs nft: the PID the agent sees is the committing one');
  assert.equal(tx.proc, 'nft');
  assert.deepEqual(tx.tables, [['inet', 't']]);
  assert.deepEqual(
    tx.events.map((e) => [e.op, e.kind, e.name ?? e.chain ?? '']),
    [['add', 'table', ''], ['add', 'chain', 'c'], ['add', 'set', 's'], ['add', 'element', 's'], ['add', 'rule', 'c']],
  );
  assert.deepEqual(tx.events[3]!.elems, [{ k: 'c0000207' }]);
});

test('paused, the listener hears nothing; resumed, the generation id counts what it missed', async (t) => {
  const ns = createNetns(t, 'nlp');
  const { l, signals, next } = listen(t, ns);
  l.start();
  await next('ready');
  ns.nft(['add', 'table', 'ip', 'x']);
  const seen = (await next('tx')).tx.gen;
  assert.equal(await l.pause(), seen);
  ns.nft(['add', 'table', 'ip', 'y']);
  ns.nft(['add', 'table', 'ip', 'z']);
  assert.equal(await l.resume(), seen + 2);
  assert.deepEqual(await l.generation(), { gen: seen + 2, seen: seen + 2 });
  assert.equal(signals.filter((s) => s.kind === 'tx').length, 0, 'nothing was heard while paused');
  ns.nft(['delete', 'table', 'ip', 'x']);
  assert.equal((await next('tx')).tx.gen, seen + 3);
});

test('the listener exits when the agent closes its stdin, and is restarted when it dies', async (t) => {
  const ns = createNetns(t, 'nlx');
  const { l, next } = listen(t, ns);
  l.start();
  await next('ready');
  const first = l.pid!;
  process.kill(first, 'SIGKILL');
  await next('down');
  await next('ready');
  assert.notEqual(l.pid, first);
  const second = l.pid!;
  l.stop();
  const t0 = Date.now();
  while (Date.now() - t0 < 5000) {
    try {
      process.kill(second, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('the listener outlived stop()');
});

test('element keys of every supported set type read back, and their heal batch undoes a hand change', async (t) => {
  const ns = createNetns(t, 'nlk');
  const sets: Array<[string, Record<string, unknown>, string]> = [
    ['v4', { type: 'ipv4_addr' }, '198.18.0.1, 198.18.0.2'],
    ['v6', { type: 'ipv6_addr' }, '2001:db8::1, fd00::1:0:0:1'],
    ['iv', { type: 'ipv4_addr', flags: ['interval'] }, '10.0.0.0/24, 192.168.1.5, 172.16.0.5-172.16.0.9'],
    ['iv6', { type: 'ipv6_addr', flags: ['interval'] }, 'fd00:1::/64'],
    ['port', { type: 'inet_service' }, '80, 443'],
    ['ports', { type: 'inet_service', flags: ['interval'] }, '1024-2048'],
    ['pair', { type: ['ipv4_addr', 'inet_service'] }, '198.18.0.1 . 443'],
  ];
  const decl = sets.map(([name, body]) => {
    const type = Array.isArray(body.type) ? (body.type as string[]).join(' . ') : body.type;
    return `set ${name} { type ${type}; ${body.flags ? 'flags interval;' : ''} }`;
  });
  ns.nft(['-f', '-'], `table inet t {\n${decl.join('\n')}\n}\n`);
  const before = ns.nft(['list', 'table', 'inet', 't']);
  const { l, next } = listen(t, ns);
  l.start();
  await next('ready');
  ns.nft(['-f', '-'], sets.map(([name, , elems]) => `add element inet t ${name} { ${elems} }`).join('\n'));
  const { tx } = await next('tx');
  const drift = new ElementDrift();
  for (const ev of tx.events) {
    const body = sets.find(([name]) => name === ev.name)![1];
    const shape = setShape(body);
    assert.ok(shape.ok, ev.name);
    if (!shape.ok) continue;
    const keys = kernelElements(shape.value, ev.elems!);
    assert.ok(keys.ok, `${ev.name}: ${keys.ok ? '' : keys.reason}`);
    if (keys.ok) drift.note({ family: ev.family, table: ev.table, name: ev.name! }, ev.op === 'del' ? 'del' : 'add', keys.value);
  }
  assert.match(drift.describe(50).join('\n'), /"fd00::1:0:0:1" added to set inet t v6/);
  assert.match(drift.describe(50).join('\n'), /\{"range":\["172\.16\.0\.5","172\.16\.0\.9"\]\} added to set inet t iv/);
  // The heal deletes exactly what was added: the tables are as before.
  const file = join(mkdtempSync(join(tmpdir(), 'nft-sync-heal-')), 'heal.json');
  t.after(() => rmSync(dirname(file), { recursive: true, force: true }));
  writeFileSync(file, JSON.stringify(elementHealBatch(drift.entries(), () => new Map())));
  ns.nft(['-j', '-f', file]);
  assert.equal(ns.nft(['list', 'table', 'inet', 't']), before);
});
