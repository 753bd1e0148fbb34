/**
 * Fan-out bench rows: one `nft-sync server` process (the compiled dist/, validation on as users
 * run it) and up to 10,000 simulated agents in this process: the agent's own WireClient over
 * real sockets, each from its own loopback address (127.1.x.y, as a fleet has one address per
 * host), subscribed to main, holding a 20 KB ruleset; no nft. Each figure beside its baseline
 * from the same run:
 *
 *  - time from the start of `git push` until every agent holds the new revision (its fetch with
 *    `have` answered with the new commit), 1,000 and 10,000 agents; baseline: that `git push`
 *    (with its validation) alone. Goals: under 400 ms and under 1.5 s.
 *  - lockout-guard checks: after one more push every simulated agent, once it holds the
 *    revision, runs the agent's own confirm probe (confirmRevision + wireProbe: a new connection, hello with `check`, one
 *    ping) at 10,000 connections, the total cap. Figure: checks not confirmed; baseline: checks
 *    made. Goal: 0 (no agent would roll back).
 *  - a real agent beside 9,999 simulated ones: the compiled `nft-sync agent` process, applying
 *    with the real nft in a throwaway namespace, with its lockout guard on (--confirm-window),
 *    through the 10,000-agent pushes. Figure: pushes it confirmed (applied, not rolled back);
 *    baseline: pushes made. Goal: every one.
 *  - server RSS with 10,000 agents (baseline: the same server with none). Goal: under 300 MB.
 *  - fetch throughput of the 20 KB ruleset (fetches/s, 200 agents fetching in a loop for 3 s)
 *    against a raw echo server answering the same frames over the same number of sockets from
 *    the same addresses. Goal: at least half of it.
 *  - API p99 (GET /api/v1/rulesets/default, from a separate process) while 10,000 agents
 *    reconnect after the server was killed and restarted (each reconnecting as the agent daemon
 *    does: Backoff.afterDrop, then Backoff.next); baseline: the same p99 with the agents idle.
 *    Goal: under 100 ms.
 *  - the same fleet of 10,000 over mutual TLS: time until all hold a new revision, and the
 *    server's RSS (report only).
 *
 * File descriptors: 10,000 agents take 10,000 on each side plus the checks (up to
 * --check-connections, 1,000, at once); the bench raises its soft limit to the hard one with
 * `prlimit` before it starts (the server inherits it) and stops if that is under 12,000.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type tls from 'node:tls';
import { promisify } from 'node:util';
import { Backoff, sleep } from '../agent/backoff.js';
import { confirmRevision, wireProbe } from '../agent/reconcile/confirm-revision.js';
import { WireClient } from '../agent/wire/wire-client.js';
import { clientTlsOptions } from '../cli/tls-flags.js';
import { initPki, issueCertificate } from '../server/auth/pki.js';
import { median, type BenchRow } from './bench-row.js';

const run = promisify(execFile);
/** Agents in the big fleet (NFT_SYNC_BENCH_AGENTS for a quick trial; the rows say 10,000). */
const FLEET = Number(process.env.NFT_SYNC_BENCH_AGENTS ?? 10_000);
type Cleanups = Array<() => void | Promise<void>>;

/** The i-th agent's own loopback address (all of 127/8 is local; no setup needed). */
function agentAddress(i: number): string {
  return `127.1.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Start `argv`; resolves once its stderr or stdout matches `ready`, with the match. */
function start(argv: string[], ready: RegExp, cleanups: Cleanups): Promise<ChildProcess & { ready?: RegExpExecArray }> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => stop(child));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: not ready in 60 s: ${out.slice(-1000)}`)), 60_000);
    const onData = (c: Buffer) => {
      if (out.length < 100_000) out += c;
      const m = ready.exec(out);
      if (m) (clearTimeout(timer), resolve(Object.assign(child, { ready: m })));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => (clearTimeout(timer), reject(new Error(`${argv.join(' ')} exited ${code}: ${out.slice(-1000)}`))));
  });
}

/** Stop a server as an operator does (SIGTERM: it removes its scratch namespaces). */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** A server killed on purpose leaves its scratch namespaces (nfts-check-PID-*): remove them. */
function killedScratch(pid: number, cleanups: Cleanups): void {
  cleanups.push(() => {
    const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!);
    for (const n of names) if (n.startsWith(`nfts-check-${pid}-`)) execFileSync('ip', ['netns', 'delete', n]);
  });
}

/** A ruleset of about 20 KB: the template's, plus accept rules. */
function twentyKbRuleset(seed: number): string {
  const r = JSON.parse(readFileSync('repo-template/rulesets/default.json', 'utf8')) as { nftables: unknown[] };
  for (let i = 0; JSON.stringify(r, null, 2).length < 20_000; i++) {
    r.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 10_000 + seed * 100 + i } }, { accept: null }] } });
  }
  return JSON.stringify(r, null, 2);
}

interface Server {
  child: ChildProcess;
  port: number;
  http: number;
}

/** One simulated agent: the agent's WireClient, what it holds, what it does on `moved`. */
class SimAgent {
  client: WireClient | undefined;
  have: { commit: string; blob: string } | undefined;
  /** Called when it holds `commit` after a `moved`. */
  onHold: ((commit: string) => void) | undefined;
  constructor(
    readonly name: string,
    readonly address: string,
    readonly tls: tls.ConnectionOptions | undefined,
  ) {}

  async connect(port: number): Promise<void> {
    const client = await WireClient.connect({ host: '127.0.0.1', port, agent: this.name, localAddress: this.address, tls: this.tls, connectTimeoutMs: 60_000, requestTimeoutMs: 120_000 });
    this.client = client;
    client.on('moved', () => void this.update().catch(() => {}));
    await client.subscribe('main');
    await this.update();
  }

  async update(): Promise<void> {
    const r = await this.client!.fetch({ ref: 'main', ruleset: 'default', ...(this.have && { have: this.have }) });
    this.have = { commit: r.commit, blob: r.blob };
    this.onHold?.(r.commit);
  }

  probe(port: number) {
    return wireProbe({ host: '127.0.0.1', port, agent: this.name, localAddress: this.address, tls: this.tls });
  }
}

/**
 * Connect `agents` (at most `parallel` connecting at once); one that fails tries again with the
 * agent's backoff, as the daemon would. Resolves with the number of failed attempts.
 */
async function connectAll(agents: SimAgent[], port: number, parallel: number): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < agents.length) {
        const a = agents[next++]!;
        const backoff = new Backoff();
        for (let attempt = 0; ; attempt++) {
          try {
            await a.connect(port);
            break;
          } catch (err) {
            a.client?.close();
            failed += 1;
            if (attempt >= 20) throw err;
            await sleep(backoff.next());
          }
        }
      }
    }),
  );
  return failed;
}

/** Progress on stderr: the table comes at the end. */
function note(what: string, fields: Record<string, unknown> = {}): void {
  console.error(`fanout: ${what} ${JSON.stringify(fields)}`);
}

/**
 * Commit a new 20 KB ruleset, push it, and time until every agent holds it; with `probe`, each
 * agent then runs the lockout guard's check (30 s window). Resolves once all checks are done.
 */
async function pushAndWait(agents: SimAgent[], git: (args: string[]) => string, clone: string, seed: number, port: number, probe: boolean): Promise<{ allHold: number; push: number; unconfirmed: number }> {
  writeFileSync(join(clone, 'rulesets/default.json'), twentyKbRuleset(seed));
  git(['commit', '-qam', `revision ${seed}`]);
  const target = git(['rev-parse', 'HEAD']);
  let left = agents.length;
  let unconfirmed = 0;
  const checks: Array<Promise<void>> = [];
  const t0 = performance.now();
  let allHold = 0;
  const held = new Promise<void>((resolve) => {
    if (agents.length === 0) resolve();
    for (const a of agents) {
      a.onHold = (commit) => {
        if (commit !== target) return;
        a.onHold = undefined;
        if (probe) checks.push(confirmRevision(a.probe(port), 30_000).then((r) => void (r.confirmed || unconfirmed++)));
        if (--left === 0) {
          allHold = performance.now() - t0;
          resolve();
        }
      };
    }
  });
  await run('git', ['push', '-q', 'origin', 'main'], { cwd: clone, env: gitEnv });
  const push = performance.now() - t0;
  await held;
  await Promise.all(checks);
  return { allHold, push, unconfirmed };
}

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };

/** Run a request loop against the API from a separate process for `ms`; its p99 in ms. */
async function apiP99(httpPort: number, ms: number): Promise<{ p99: number; n: number }> {
  const script = `
    const http = require('node:http');
    const end = Date.now() + ${ms}; const xs = [];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    function one() {
      if (Date.now() > end) { xs.sort((a, b) => a - b); console.log(JSON.stringify({ p99: xs[Math.floor(xs.length * 0.99)] ?? 0, n: xs.length })); return process.exit(0); }
      const t0 = performance.now();
      http.get({ host: '127.0.0.1', port: ${httpPort}, path: '/api/v1/rulesets/default?ref=main', agent }, (res) => {
        res.resume(); res.on('end', () => { xs.push(performance.now() - t0); setTimeout(one, 20); });
      }).on('error', () => { xs.push(performance.now() - t0); setTimeout(one, 20); });
    }
    one();`;
  const { stdout } = await run(process.execPath, ['-e', script]);
  return JSON.parse(stdout) as { p99: number; n: number };
}

/** A raw echo server: answers hello with a welcome frame and every other frame with `answer` (the request's id spliced in). */
const ECHO_SERVER = `
  const net = require('node:net'); const fs = require('node:fs');
  const tail = fs.readFileSync(process.argv[1]);
  const frame = (json) => { const b = Buffer.from(json); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); };
  const welcome = frame(JSON.stringify({ type: 'welcome', version: 1, server: 'echo', maxFrame: 65536, heartbeat: 0 }));
  const server = net.createServer((s) => {
    let buf = Buffer.alloc(0); let first = true;
    s.on('error', () => {});
    s.on('data', (c) => {
      buf = buf.length ? Buffer.concat([buf, c]) : c;
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0); const payload = buf.subarray(4, 4 + len); buf = buf.subarray(4 + len);
        if (first) { first = false; s.write(welcome); continue; }
        const id = JSON.parse(payload.toString()).id;
        const prefix = Buffer.from('{"type":"ruleset","id":' + id + ',');
        const h = Buffer.alloc(4); h.writeUInt32BE(prefix.length + tail.length);
        s.cork(); s.write(h); s.write(prefix); s.write(tail); s.uncork();
      }
    });
  });
  server.listen(0, '127.0.0.1', () => console.log('echo listening ' + server.address().port));`;

/** Fetches per second over `agents` (each fetching in a loop, no `have`) for `ms`. */
async function fetchRate(clients: WireClient[], ms: number): Promise<number> {
  let n = 0;
  const end = performance.now() + ms;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < end) {
        await c.fetch({ ref: 'main', ruleset: 'default' });
        n++;
      }
    }),
  );
  return (n * 1000) / ms;
}

/**
 * The real agent (compiled CLI) in its own namespace, following main with its lockout guard on.
 * `outcome(commit)` resolves with 'applied' or 'failed' once its log says which for `commit`.
 */
async function startRealAgent(cli: string[], port: number, dir: string, cleanups: Cleanups): Promise<{ outcome(commit: string, ms: number): Promise<'applied' | 'failed' | 'timeout'> }> {
  const ns = `nsb-fanreal-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  cleanups.push(() => void execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' }));
  const child = spawn(cli[0]!, [cli[1]!, 'agent', '--server', `127.0.0.1:${port}`, '--ref', 'main', '--name', 'real-agent', '--nft', `ip netns exec ${ns} nft`, '--state-dir', join(dir, 'real-agent'), '--confirm-window', '10', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => stop(child));
  let log = '';
  const keep = (c: Buffer) => (log = (log + c.toString()).slice(-1_000_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    async outcome(commit, ms) {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        for (const line of log.split('\n')) {
          if (!line.includes(`"commit":"${commit}"`)) continue;
          if (line.includes('"msg":"applied"')) return 'applied';
          if (line.includes('"msg":"reconcile failed')) return 'failed';
        }
        await sleep(100);
      }
      return 'timeout';
    },
  };
}

/** The rows described in the file comment. */
export async function benchFanOut(cleanups: Cleanups): Promise<BenchRow[]> {
  // Raise the soft limit to the hard one (raising the hard one needs CAP_SYS_RESOURCE, which a
  // container may not give); 10,000 agents plus their checks need about 11,100 on each side.
  const hard = execFileSync('prlimit', ['--pid', String(process.pid), '--nofile', '--raw', '--noheadings', '--output', 'HARD'], { encoding: 'utf8' }).trim();
  execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`]);
  if (hard !== 'unlimited' && Number(hard) < FLEET + 2000) throw new Error(`the file descriptor limit is ${hard}; ${FLEET} agents need about ${FLEET + 2000}: raise it (ulimit -Hn, as root)`);
  if (!process.env.NFT_SYNC_BENCH_NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-fanout-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cli = [process.execPath, 'dist/cli/main.js'];
  const bare = join(dir, 'rules.git');
  execFileSync(cli[0]!, [cli[1]!, 'init', bare], { stdio: 'ignore' });
  const clone = join(dir, 'clone');
  execFileSync('git', ['clone', '-q', bare, clone], { env: gitEnv });
  const git = (args: string[]) => execFileSync('git', args, { cwd: clone, env: gitEnv, encoding: 'utf8' }).trim();
  const rows: BenchRow[] = [];
  const port = await freePort();
  const http = await freePort();
  const serverArgs = [...cli, 'server', '--repo', bare, '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--log-level', 'info'];
  const startServer = () => start(serverArgs, /wire protocol listening/, cleanups);
  let server: Server = { child: await startServer(), port, http };
  // The first push (validation warms its scratch namespace) and the 20 KB ruleset in place.
  await pushAndWait([], git, clone, 0, port, false);
  await sleep(2000);
  const idleRss = rssMb(server.child.pid!);

  // FLEET - 1 simulated agents: the real one (startRealAgent) makes FLEET.
  const agents = Array.from({ length: FLEET - 1 }, (_, i) => new SimAgent(`sim-${i}`, agentAddress(i), undefined));
  const closeAll = () => agents.forEach((a) => a.client?.close());
  cleanups.push(closeAll);
  note('connecting', { agents: Math.min(1000, FLEET) });
  await connectAll(agents.slice(0, 1000), port, 100);
  const thousand = [];
  for (let i = 1; i <= 3; i++) thousand.push(await pushAndWait(agents.slice(0, 1000), git, clone, i, port, false));
  const t1 = median(thousand.map((r) => r.allHold));
  rows.push({ figure: 'all of 1,000 agents hold a push, validation on (ms)', ours: t1, baseline: median(thousand.map((r) => r.push)), goal: '< 400', ok: t1 < 400 });

  note('1,000 done', { thousand });
  const real = await startRealAgent(cli, port, dir, cleanups);
  const realFirst = await real.outcome(git(['rev-parse', 'HEAD']), 30_000);
  if (realFirst !== 'applied') throw new Error(`the real agent did not apply the revision in force: ${realFirst}`);
  note('connecting the rest', { failedAttempts: await connectAll(agents.slice(1000), port, 200) });
  await sleep(3000);
  let realConfirmed = 0;
  let realPushes = 0;
  const realOutcome = async () => {
    realPushes += 1;
    const o = await real.outcome(git(['rev-parse', 'HEAD']), 40_000);
    if (o === 'applied') realConfirmed += 1;
    else note('the real agent did not confirm a push', { outcome: o });
  };
  const rss = rssMb(server.child.pid!);
  rows.push({ figure: 'server RSS, 10,000 agents connected (MB)', ours: rss, baseline: idleRss, goal: '< 300', ok: rss < 300 });
  const tenK = [];
  for (let i = 4; i <= 6; i++) {
    tenK.push(await pushAndWait(agents, git, clone, i, port, false));
    await realOutcome();
  }
  const t10 = median(tenK.map((r) => r.allHold));
  rows.push({ figure: 'all of 10,000 agents hold a push, validation on (ms)', ours: t10, baseline: median(tenK.map((r) => r.push)), goal: '< 1500', ok: t10 < 1500 });
  // Every agent checks the next revision as the lockout guard does, all at once, at the cap.
  const checked = await pushAndWait(agents, git, clone, 8, port, true);
  await realOutcome();
  rows.push({ figure: 'lockout-guard checks not confirmed at 10,000 agents (of checks made)', ours: checked.unconfirmed, baseline: agents.length, goal: '0', ok: checked.unconfirmed === 0 });
  rows.push({ figure: 'pushes a real agent (lockout guard on) confirmed beside 9,999 others (of pushes)', ours: realConfirmed, baseline: realPushes, goal: 'every one', ok: realConfirmed === realPushes });

  note('10,000 done', { tenK, rss });
  // Fetch throughput: 200 agents, the server against a raw echo of the same frames.
  const fetchers = agents.slice(0, 200).map((a) => a.client!);
  const ours = await fetchRate(fetchers, 3000);
  const sample = await fetchers[0]!.fetch({ ref: 'main', ruleset: 'default' });
  if (sample.kind !== 'ruleset') throw new Error('expected a ruleset');
  const tailFile = join(dir, 'answer-tail');
  const { kind: _k, bytes, ...fields } = sample;
  writeFileSync(tailFile, Buffer.concat([Buffer.from(`${JSON.stringify({ ...fields, size: bytes.length }).slice(1)}\0`), bytes]));
  const echo = await start([process.execPath, '-e', ECHO_SERVER, tailFile], /echo listening (\d+)/, cleanups);
  const echoPort = Number(echo.ready![1]);
  const echoClients = await Promise.all(agents.slice(0, 200).map((a) => WireClient.connect({ host: '127.0.0.1', port: echoPort, localAddress: a.address })));
  const raw = await fetchRate(echoClients, 3000);
  echoClients.forEach((c) => c.close());
  echo.kill('SIGKILL');
  rows.push({ figure: 'fetches/s of a 20 KB ruleset, 200 agents (vs raw echo)', ours, baseline: raw, goal: `>= ${(raw / 2).toFixed(0)} (half)`, ok: ours >= raw / 2 });

  note('throughput', { ours, raw });
  // Reconnect storm: kill the server, start it again, every agent reconnects as the daemon does.
  const idleApi = await apiP99(http, 3000);
  const reconnected = agents.map(async (a) => {
    await new Promise<void>((resolve) => a.client!.once('close', () => resolve()));
    const backoff = new Backoff();
    await sleep(backoff.afterDrop());
    for (;;) {
      try {
        await a.connect(server.port);
        return;
      } catch {
        a.client?.close();
        await sleep(backoff.next());
      }
    }
  });
  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));
  killedScratch(server.child.pid!, cleanups);
  server = { child: await startServer(), port, http };
  const storm = apiP99(http, 8000);
  await Promise.all(reconnected);
  const stormApi = await storm;
  rows.push({ figure: 'API p99 while 10,000 agents reconnect after a restart (ms)', ours: stormApi.p99, baseline: idleApi.p99, goal: '< 100', ok: stormApi.p99 < 100 });
  note('storm', { idleApi, stormApi });
  closeAll();
  await stop(server.child);

  // The same fleet over mutual TLS (one client certificate for all: names are not the point here).
  const pki = join(dir, 'pki');
  await initPki(pki);
  await issueCertificate(pki, '127.0.0.1', { server: true });
  await issueCertificate(pki, 'sim');
  const pem = (n: string) => join(pki, n);
  const tlsPort = await freePort();
  const tlsServer = await start([...cli, 'server', '--repo', bare, '--listen', `127.0.0.1:${tlsPort}`, '--tls-ca', pem('ca.crt'), '--tls-cert', pem('127.0.0.1.crt'), '--tls-key', pem('127.0.0.1.key'), '--log-level', 'info'], /wire protocol listening/, cleanups);
  const tlsOpts = clientTlsOptions({ ca: readFileSync(pem('ca.crt')), cert: readFileSync(pem('sim.crt')), key: readFileSync(pem('sim.key')) }, '127.0.0.1');
  const tlsAgents = Array.from({ length: FLEET }, (_, i) => new SimAgent('sim', agentAddress(i), tlsOpts));
  cleanups.push(() => tlsAgents.forEach((a) => a.client?.close()));
  note('TLS: connecting', { failedAttempts: await connectAll(tlsAgents, tlsPort, 50) });
  await sleep(3000);
  const tlsRss = rssMb(tlsServer.pid!);
  const tlsPush = await pushAndWait(tlsAgents, git, clone, 7, tlsPort, false);
  rows.push({ figure: 'all of 10,000 mutual-TLS agents hold a push (ms)', ours: tlsPush.allHold, baseline: tlsPush.push, goal: 'report only', ok: true });
  rows.push({ figure: 'server RSS, 10,000 mutual-TLS agents (MB)', ours: tlsRss, baseline: idleRss, goal: 'report only', ok: true });
  tlsAgents.forEach((a) => a.client?.close());
  await stop(tlsServer);
  return rows;
}
