/**
 * Bench rows: the resident memory (RSS, from /proc/PID/status) of an idle agent and an idle
 * server, each a real `nft-sync` process started as an operator starts it (the compiled
 * dist/cli/main.js, default Node flags), measured once the agent has applied its revision and
 * both have been quiet for a while. Baseline: a bare `node -e` process that only waits, measured
 * in the same run (Node's own floor: its binary's pages and an empty heap). Goal for the agent:
 * under 60 MB.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './bench-row.js';

/**
 * How long both daemons stay idle before they are measured: first at EARLY_MS (report only),
 * then at QUIET_MS, the figure an idle daemon keeps for days. V8 gives an idle heap back (its
 * memory reducer: a compacting GC and a smaller young generation) only some 30 s after the last
 * major GC, so an earlier figure still carries the start-up's garbage.
 */
const EARLY_MS = 8000;
const QUIET_MS = 45_000;

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`);
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

/**
 * Start `argv`; resolves once its output matches `ready` (rejects after 30 s or on exit). Both
 * streams are read: the daemons log on stdout, a fatal start-up error comes on stderr.
 */
function start(argv: string[], ready: RegExp, cleanups: Array<() => void | Promise<void>>): Promise<ChildProcess> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: not ready in 30 s: ${out.slice(-1000)}`)), 30_000);
    const onData = (c: Buffer) => {
      out = (out + c.toString()).slice(-100_000);
      if (ready.test(out)) (clearTimeout(timer), resolve(child));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => (clearTimeout(timer), reject(new Error(`${argv.join(' ')} exited ${code}: ${out.slice(-1000)}`))));
  });
}

/**
 * Build dist/, then measure the idle RSS of an agent (applying into namespace `ns`, made and
 * removed by the caller) and of its server, next to a bare node process. Pushes cleanups.
 */
export async function benchIdleRss(ns: string, cleanups: Array<() => void | Promise<void>>): Promise<BenchRow[]> {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-rss-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cli = [process.execPath, 'dist/cli/main.js'];
  execFileSync(cli[0]!, [...cli.slice(1), 'init', join(dir, 'rules.git')], { stdio: 'ignore' });
  const port = await freePort();
  const bare = await start([process.execPath, '-e', 'process.stderr.write("ready\\n"); setInterval(() => {}, 1 << 30)'], /ready/, cleanups);
  const server = await start([...cli, 'server', '--repo', join(dir, 'rules.git'), '--listen', `127.0.0.1:${port}`, '--log-level', 'info'], /wire protocol listening/, cleanups);
  const agent = await start(
    [...cli, 'agent', '--server', `127.0.0.1:${port}`, '--ref', 'main', '--name', 'bench', '--nft', `ip netns exec ${ns} nft`, '--state-dir', join(dir, 'state'), '--log-level', 'info'],
    /"msg":"applied"/,
    cleanups,
  );
  await new Promise((r) => setTimeout(r, EARLY_MS));
  const early = { agent: rssMb(agent.pid!), server: rssMb(server.pid!), bare: rssMb(bare.pid!) };
  await new Promise((r) => setTimeout(r, QUIET_MS - EARLY_MS));
  const baseline = rssMb(bare.pid!);
  const agentRss = rssMb(agent.pid!);
  const rows: BenchRow[] = [
    { figure: `idle RSS, agent, ${QUIET_MS / 1000} s after apply (MB)`, ours: agentRss, baseline, goal: '< 60', ok: agentRss < 60 },
    { figure: `idle RSS, agent, ${EARLY_MS / 1000} s after apply (MB)`, ours: early.agent, baseline: early.bare, goal: 'report only', ok: true },
    { figure: 'idle RSS, server (MB)', ours: rssMb(server.pid!), baseline, goal: 'report only', ok: true },
    { figure: `idle RSS, server, ${EARLY_MS / 1000} s (MB)`, ours: early.server, baseline: early.bare, goal: 'report only', ok: true },
  ];
  for (const c of [agent, server, bare]) c.kill('SIGTERM');
  return rows;
}
