/**
 * What the agent process starts ends with it, and no nft run holds it for ever: the real CLI
 * agent (`nft-sync agent`), a real server, real nft in throwaway namespaces. A hung nft cannot
 * be made on demand, so it is a fake: a script named nft that sleeps instead of loading while a
 * flag file exists (each test's name says so).
 */
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { waitUntil } from '../helpers/wait-for.js';


async function serverOn(t: TestContext, dir: string): Promise<string> {
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const port = await freePort();
  const server = startCli(t, ['server', '--repo', repo, '--listen', `127.0.0.1:${port}`, '--log-level', 'info']);
  await server.waitFor(/wire protocol listening/);
  return `127.0.0.1:${port}`;
}

/** PIDs whose parent is `pid`, with their command lines. */
function childrenOf(pid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/^[^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};


/** A fake nft that sleeps instead of loading (`nft -j -f`) while `flag` exists, and is nft otherwise. */
function fakeHangingNft(dir: string, ns: Netns, flag: string): string {
  const fake = join(dir, 'nft');
  writeFileSync(fake, `#!/bin/sh\nif [ "$1 $2" = "-j -f" ] && [ -e '${flag}' ]; then exec sleep 600; fi\nexec nft "$@"\n`);
  chmodSync(fake, 0o755);
  return `ip netns exec ${ns.name} ${fake}`;
}

test('a SIGKILLed agent leaves nothing behind: its drift listener ends within 5 s', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-kids-');
  const server = await serverOn(t, dir);
  const ns = createNetns(t, 'kill');
  const agent = startCli(t, ['agent', '--server', server, '--ref', 'main', '--name', 'host-1', '--nft', ns.nftCommand, '--state-dir', join(dir, 'state'), '--confirm-window', '0']);
  await agent.waitFor(/"msg":"applied"/, 20_000);
  const pid = agent.child.pid!;
  await waitUntil('the drift listener', () => childrenOf(pid).some((c) => c.cmd.includes('nft-events.py')), 10_000);
  const kids = childrenOf(pid);
  agent.child.kill('SIGKILL');
  await waitUntil(`the agent's children to end (${kids.map((k) => k.cmd).join('; ')})`, () => kids.every((k) => !alive(k.pid)), 5000);
});

test('a SIGKILLed agent takes a hung nft with it (fake nft that hangs: a hang cannot be made on demand)', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-kids-');
  const server = await serverOn(t, dir);
  const ns = createNetns(t, 'hang');
  const flag = join(dir, 'hang');
  writeFileSync(flag, '');
  const agent = startCli(t, ['agent', '--server', server, '--ref', 'main', '--name', 'host-1', '--nft', fakeHangingNft(dir, ns, flag), '--state-dir', join(dir, 'state'), '--confirm-window', '0']);
  const pid = agent.child.pid!;
  await waitUntil('the hung nft', () => childrenOf(pid).some((c) => c.cmd.startsWith('sleep 600')), 20_000);
  const kids = childrenOf(pid);
  agent.child.kill('SIGKILL');
  await waitUntil(`the agent's children to end (${kids.map((k) => k.cmd).join('; ')})`, () => kids.every((k) => !alive(k.pid)), 5000);
});

test('a hung nft is killed at --nft-timeout with NFTSYNC_ERR_NFT_TIMEOUT, and the revision is retried until it applies (fake nft that hangs: a hang cannot be made on demand)', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-kids-');
  const server = await serverOn(t, dir);
  const ns = createNetns(t, 'tmo');
  const flag = join(dir, 'hang');
  writeFileSync(flag, '');
  const agent = startCli(t, [
    'agent', '--server', server, '--ref', 'main', '--name', 'host-1', '--nft', fakeHangingNft(dir, ns, flag),
    '--state-dir', join(dir, 'state'), '--confirm-window', '0', '--nft-timeout', '1',
  ]);
  await agent.waitFor(/NFTSYNC_ERR_NFT_TIMEOUT/, 20_000);
  assert.match(agent.stdout(), /did not finish within 1 s and was killed/);
  await agent.waitFor(/retrying a failure that may pass by itself/, 10_000);
  rmSync(flag);
  await agent.waitFor(/"msg":"applied"/, 20_000);
  assert.match(ns.nft(['list', 'ruleset']), /tcp dport 22 accept/);
  // The hung load was killed at its timeout. A warm nft (host/warm-nft.ts) started while the fake
  // still hung is a `sleep` too; it never opens its input, so it is killed when its start wait
  // (OPEN_WAIT_MS, 2 s) ends: at "applied" it may still be in that window (CI saw one).
  await waitUntil('no hung nft left', () => childrenOf(agent.child.pid!).filter((c) => c.cmd.startsWith('sleep')).length === 0, 10_000);
});
