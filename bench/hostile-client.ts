/**
 * Bench rows: a well-behaved agent's fetch of default.json while a hostile client throws the
 * heaviest frames and the most connections allowed at the server, and the server's RSS then.
 * Baseline: the same fetches with no attack, in the same run, on the same server.
 *
 * The server runs as a child process (`nft-sync server`), so its RSS (from /proc) is its own;
 * the hostile client is another child process (this file run with `attack PORT`), so its work
 * does not slow the measuring agent down. The attacker, from 127.0.0.2 (the agent is on
 * 127.0.0.1), holds the per-address cap of 64 connections: 32 stream 64 KiB ping frames (the
 * largest a client may send, padded so the server must parse all of it) as fast as the server
 * reads, 32 say hello and send a 64 KiB frame of nested arrays, get their error and reconnect,
 * and every reconnect also announces a 256 MiB frame on another connection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WireClient } from '../agent/wire/wire-client.js';
import { initRepository } from '../server/git/init-repository.js';
import { encodeFrame } from '../shared/wire/frame-decoder.js';
import { encodeMessage } from '../shared/wire/message-codec.js';
import { CLIENT_MAX_FRAME } from '../shared/wire/messages.js';
import type { BenchRow } from './bench-row.js';

const HOSTILE_ADDRESS = '127.0.0.2';
const PER_ADDRESS_CAP = 64;

/** The p-th percentile (0-100) of `xs`. */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** Start `nft-sync server` on a free port; resolves with the process and the port. */
async function startServerProcess(repo: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'server', '--repo', repo, '--listen', '127.0.0.1:0', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let err = '';
  const port = await new Promise<number>((resolve, reject) => {
    // The log lines come on stdout.
    child.stdout!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /"address":\{[^}]*"port":(\d+)[^}]*\}[^\n]*wire protocol listening/.exec(err);
      if (m) resolve(Number(m[1]));
      if (err.length > 1 << 20) err = err.slice(-4096); // keep draining: a blocked pipe would stall the server
    });
    child.on('exit', (code) => reject(new Error(`server exited ${String(code)}: ${err.slice(-2000)}`)));
  });
  return { child, port };
}

/** `runs` fetches of default.json one after another; their latencies in ms. */
async function fetchLatencies(agent: WireClient, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await agent.fetch({ ref: 'main', ruleset: 'default' });
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * The two rows: p99 of the agent's fetch under attack against p99 without (goal < 50 ms), and
 * the server's peak RSS under attack against its RSS before (goal < 300 MB).
 */
export async function benchHostileClient(runs: number, cleanups: Array<() => unknown>): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-hostile-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const repo = join(dir, 'rules.git');
  await initRepository(repo, 'repo-template');
  const { child: server, port } = await startServerProcess(repo);
  cleanups.push(() => server.kill('SIGKILL'));
  const agent = await WireClient.connect({ host: '127.0.0.1', port, agent: 'bench' });
  cleanups.push(() => agent.close());
  await fetchLatencies(agent, 20); // warm caches and the JIT
  const baseline = await fetchLatencies(agent, runs);
  const rssBefore = rssMiB(server.pid!);

  const attacker = spawn(process.execPath, ['--import', 'tsx', 'bench/hostile-client.ts', 'attack', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => attacker.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    attacker.stdout!.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
    attacker.on('exit', (code) => reject(new Error(`attacker exited ${String(code)}`)));
  });
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server.pid!))), 50);
  await new Promise((r) => setTimeout(r, 1000)); // let the attack reach full strength
  const attacked = await fetchLatencies(agent, runs);
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB(server.pid!));
  attacker.kill('SIGKILL');
  const p99 = percentile(attacked, 99);
  return [
    { figure: 'fetch default.json under a hostile client, p99 (ms)', ours: p99, baseline: percentile(baseline, 99), goal: '< 50', ok: p99 < 50 },
    { figure: 'server RSS under a hostile client (MB, process)', ours: peak, baseline: rssBefore, goal: '< 300', ok: peak < 300 },
  ];
}

/** The hostile client: runs until killed. */
function attack(port: number): void {
  const hello = encodeMessage({ type: 'hello', versions: [1], agent: 'hostile' });
  const head = '{"type":"ping","id":1}';
  const heavyPing = encodeFrame(Buffer.from(head + ' '.repeat(CLIENT_MAX_FRAME - head.length)));
  const depth = (CLIENT_MAX_FRAME - 10) >> 1;
  const nested = encodeFrame(Buffer.from(`{"type":${'['.repeat(depth)}${']'.repeat(depth)}}`));
  const huge = Buffer.from([0x10, 0, 0, 0]); // a 256 MiB frame header
  const connect = (onClose: () => void) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: HOSTILE_ADDRESS });
    s.on('error', () => {});
    s.on('close', () => setTimeout(onClose, 5));
    s.resume(); // read and drop the answers, so the server never waits on us
    return s;
  };
  const streamer = () => {
    const s = connect(streamer);
    s.on('connect', () => {
      s.write(hello);
      const pump = () => {
        while (!s.destroyed && s.write(heavyPing));
        if (!s.destroyed) s.once('drain', pump);
      };
      pump();
    });
  };
  const churner = () => {
    const s = connect(churner);
    s.on('connect', () => s.write(Buffer.concat([hello, nested])));
    const t = connect(() => {});
    t.on('connect', () => t.end(Buffer.concat([hello, huge, Buffer.alloc(60_000, 0x5b)])));
  };
  for (let i = 0; i < PER_ADDRESS_CAP / 2; i++) {
    streamer();
    churner();
  }
  process.stdout.write('ready\n');
}

if (process.argv[2] === 'attack' && import.meta.url === pathToFileURL(process.argv[1]!).href) attack(Number(process.argv[3]));
