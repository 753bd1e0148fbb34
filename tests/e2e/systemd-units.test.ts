/**
 * The systemd units in packaging/: `systemd-analyze verify` finds nothing to say about them
 * (systemd need not be PID 1; ExecStart is pointed at an executable that exists, in a temp copy),
 * and each ExecStart, run as systemd would run it (the unit's user model: the agent unprivileged
 * with CAP_NET_ADMIN only, the example config and environment files), works and stops cleanly on
 * SIGTERM within TimeoutStopSec (exit 0), its log lines on stdout (the journal's stream) and
 * nothing on stderr. Real processes, nft in a throwaway namespace.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { runCli, startCli } from '../helpers/cli-process.js';
import { createNetns } from '../helpers/netns.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const UNITS = ['nft-sync-server.service', 'nft-sync-agent.service'];
const INSTALLED = '/usr/local/bin/nft-sync';


/** `Key=value` settings of a unit's [Service] section (last one wins). */
function service(unit: string): Record<string, string> {
  const text = readFileSync(join('packaging/systemd', unit), 'utf8');
  const section = text.slice(text.indexOf('[Service]'), text.indexOf('[Install]'));
  const out: Record<string, string> = {};
  for (const line of section.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

test('systemd-analyze verify accepts both units without a word', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-units-');
  // The units name the installed binary; in a temp copy, an executable that exists here.
  const shim = join(dir, 'nft-sync');
  writeFileSync(shim, '#!/bin/sh\nexit 0\n');
  chmodSync(shim, 0o755);
  for (const unit of UNITS) writeFileSync(join(dir, unit), readFileSync(join('packaging/systemd', unit), 'utf8').replaceAll(INSTALLED, shim));
  const r = await promisify(execFile)('systemd-analyze', ['verify', '--man=no', ...UNITS.map((u) => join(dir, u))], { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' } }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  assert.equal((r as { code?: number }).code ?? 0, 0, r.stderr);
  assert.equal(`${r.stdout}${r.stderr}`, '', 'no warnings (an unknown key only warns)');
  const agent = service('nft-sync-agent.service');
  assert.equal(agent.AmbientCapabilities, 'CAP_NET_ADMIN');
  assert.equal(agent.CapabilityBoundingSet, 'CAP_NET_ADMIN');
  assert.match(agent.RestrictAddressFamilies!, /\bAF_NETLINK\b/);
  assert.equal(agent.KillMode, 'mixed');
  assert.ok(Number(agent.TimeoutStopSec) > 30 + 10, 'longer than the default confirm window plus a restore');
  assert.equal(service('nft-sync-server.service').CapabilityBoundingSet, '');
  // The daemons log on stdout and say a fatal error on stderr: both to the journal, nowhere else.
  for (const unit of UNITS) for (const key of ['StandardOutput', 'StandardError']) assert.equal(service(unit)[key], 'journal', `${unit} ${key}`);
});

test('each ExecStart works with the example config, as the unit runs it, logs on stdout only, and stops on SIGTERM with exit 0', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-units-');
  chmodSync(dir, 0o755);
  const ns = createNetns(t, 'unit');
  const port = 7431;
  const pki = join(dir, 'pki');
  for (const args of [['init'], ['issue', '--name', '127.0.0.1', '--server'], ['issue', '--name', 'host-7']]) {
    assert.equal((await runCli(['pki', ...args, '--dir', pki])).code, 0);
  }
  const repo = join(dir, 'rules.git');
  assert.equal((await runCli(['init', repo])).code, 0);
  writeFileSync(join(dir, 'tokens'), 'unit-test-token-0123456789 ops\n');

  // The example files with this test's paths: every other key as shipped.
  const adapt = (file: string, values: Record<string, string>) => {
    let text = readFileSync(join('packaging/config', file), 'utf8');
    for (const [key, value] of Object.entries(values)) text = text.replace(new RegExp(`^${key}: .*$`, 'm'), `${key}: ${value}`);
    const out = join(dir, file);
    writeFileSync(out, text);
    chmodSync(out, 0o644);
    return out;
  };
  const serverYaml = adapt('server.yaml', {
    repo, listen: `127.0.0.1:${port}`, http: `127.0.0.1:${port + 1}`, 'token-file': join(dir, 'tokens'),
    'tls-ca': join(pki, 'ca.crt'), 'tls-cert': join(pki, '127.0.0.1.crt'), 'tls-key': join(pki, '127.0.0.1.key'),
  });
  const state = join(dir, 'state');
  const agentYaml = adapt('agent.yaml', {
    server: `127.0.0.1:${port}`, 'state-dir': state,
    'tls-ca': join(pki, 'ca.crt'), 'tls-cert': join(pki, 'host-7.crt'), 'tls-key': join(pki, 'host-7.key'),
  });
  // The agent's user (nobody here, nft-sync in the unit) owns its state and reads its key.
  mkdirSync(state);
  chownSync(state, 65534, 65534);
  chownSync(join(pki, 'host-7.key'), 65534, 65534);
  chmodSync(pki, 0o755);

  const execStart = (unit: string, config: string) => {
    const argv = service(unit).ExecStart!.split(' ');
    assert.equal(argv[0], INSTALLED);
    return argv.slice(1).map((a) => (a.startsWith('/etc/nft-sync/') ? config : a));
  };
  const server = startCli(t, [...execStart('nft-sync-server.service', serverYaml), '--log-level', 'info'], { prefix: ['ip', 'netns', 'exec', ns.name] });
  await server.waitFor(/"msg":"http listening"/, 15_000);

  // The agent as its unit runs it: an unprivileged user whose only capability is CAP_NET_ADMIN
  // (ambient, so the nft processes it starts have it too), and its environment file.
  const env = Object.fromEntries(
    readFileSync('packaging/default/nft-sync-agent', 'utf8').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const setpriv = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=+net_admin', '--ambient-caps=+net_admin', '--bounding-set=-all,+net_admin'];
  const agent = startCli(t, execStart('nft-sync-agent.service', agentYaml), { prefix: ['ip', 'netns', 'exec', ns.name, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...setpriv] });
  await agent.waitFor(/"msg":"applied"/, 20_000);
  assert.match(agent.stdout(), /"agent":"host-7"/, 'the name comes from the certificate');
  assert.match(ns.nft(['list', 'table', 'inet', 'nft_sync']), /tcp dport 22 accept/);
  for (const line of agent.stdout().trim().split('\n')) JSON.parse(line);

  // The same file serves pull (agent-only keys ignored), run the same way.
  const pull = spawn('ip', ['netns', 'exec', ns.name, ...setpriv, process.execPath, '--import', 'tsx', 'cli/main.ts', 'pull', '--config', agentYaml], { stdio: ['ignore', 'pipe', 'pipe'] });
  let pullOut = '';
  pull.stdout.on('data', (c) => (pullOut += c));
  pull.stderr.on('data', (c) => (pullOut += c));
  assert.equal(await new Promise((r) => pull.on('close', r)), 0, pullOut);
  assert.match(pullOut, /^already in force: default at [0-9a-f]{40}/);

  for (const [name, daemon, unit] of [['agent', agent, 'nft-sync-agent.service'], ['server', server, 'nft-sync-server.service']] as const) {
    const t0 = Date.now();
    assert.equal(await daemon.stop('SIGTERM'), 0, `${name}: ${daemon.stdout().slice(-500)}`);
    assert.ok(Date.now() - t0 < Number(service(unit).TimeoutStopSec) * 1000, `${name} stopped within TimeoutStopSec`);
    assert.match(daemon.stdout(), /"msg":"stopped"/);
    assert.equal(daemon.stderr(), '', `${name}: its log on stdout, nothing on stderr`);
  }
});
