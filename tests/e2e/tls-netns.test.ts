/**
 * The agent inside its own network namespace, joined to the server by a veth pair (addresses
 * from 198.18.0.0/15): the server refuses plain TCP on that address, serves mutual TLS with a
 * certificate for its IP address, and the agent (a process in the namespace, running its own
 * nft there) applies over it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { createNetns } from '../helpers/netns.js';
import { makeTempDir } from '../helpers/temp-dir.js';


test('agent in a namespace over a veth pair: plain TCP refused on the address, mutual TLS applies', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-e2e-tlsns-');
  const ns = createNetns(t, 'tlsv');
  // A random /30 in 198.19.0.0/16, so parallel runs do not collide (198.18.0.0/24 is the
  // walkthrough's bridge, 198.18.100-249.0/24 set-elements-agents' bridges, all on this host).
  const base = `198.19.${randomInt(256)}`;
  const block = randomInt(64) * 4;
  const [hostIp, agentIp] = [`${base}.${block + 1}`, `${base}.${block + 2}`];
  const vh = `vh${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['link', 'add', vh, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
  t.after(() => {
    try {
      execFileSync('ip', ['link', 'delete', vh], { stdio: 'ignore' });
    } catch {
      // gone with the namespace
    }
  });
  execFileSync('ip', ['addr', 'add', `${hostIp}/30`, 'dev', vh]);
  execFileSync('ip', ['link', 'set', vh, 'up']);
  ns.exec(['ip', 'addr', 'add', `${agentIp}/30`, 'dev', 'eth0']);
  ns.exec(['ip', 'link', 'set', 'eth0', 'up']);

  const pki = join(dir, 'pki');
  for (const args of [['init'], ['issue', '--name', hostIp, '--server'], ['issue', '--name', 'edge-1']]) {
    const r = await runCli(['pki', ...args, '--dir', pki]);
    assert.equal(r.code, 0, r.stderr);
  }
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  const port = await freePort();
  const address = `${hostIp}:${port}`;
  const plain = await runCli(['server', '--repo', repo, '--listen', address]);
  assert.equal(plain.code, 1);
  assert.match(plain.stderr, /NFTSYNC_ERR_LISTEN_INSECURE/);
  const tlsOf = (name: string) => ['--tls-ca', join(pki, 'ca.crt'), '--tls-cert', join(pki, `${name}.crt`), '--tls-key', join(pki, `${name}.key`)];
  const httpPort = await freePort();
  const server = startCli(t, ['server', '--repo', repo, '--listen', address, '--http', `127.0.0.1:${httpPort}`, ...tlsOf(hostIp), '--log-level', 'info']);
  await server.waitFor(/wire protocol listening/);

  const agent = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', 'cli/main.ts', 'agent', '--server', address, '--ref', 'main', '--name', 'edge-1',
    ...tlsOf('edge-1'), '--nft', 'nft', '--state-dir', join(dir, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let err = '';
  agent.stdout.on('data', (c) => (log += c));
  agent.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((resolve) => agent.on('close', resolve));
  t.after(async () => {
    if (agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGKILL');
      await exited;
    }
  });
  const t0 = Date.now();
  while (!/"msg":"applied"/.test(log)) {
    if (Date.now() - t0 > 15_000 || agent.exitCode !== null) assert.fail(`agent did not apply: ${log.slice(-1500)}${err.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(ns.nft(['list', 'ruleset']), /tcp dport 22 accept/);
  // The server saw the agent, by its certificate's name, come from the namespace's address.
  const agents = await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/agents`)).text();
  assert.match(agents, /"edge-1"/);
  assert.ok(agents.includes(agentIp), agents);
  agent.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(await server.stop('SIGTERM'), 0);
});
