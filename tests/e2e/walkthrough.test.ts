/**
 * The README's operator walkthrough, run by scripts/walkthrough.sh with `nft-sync` on PATH (here
 * a shim that runs this checkout's sources, so the test never runs a stale dist/). Bounded in
 * time; whatever happens, the script's process group is ended and its namespaces and links are
 * removed (the script cleans up after itself on exit; this is the backstop for a kill).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { makeTempDir } from '../helpers/temp-dir.js';

// Names and the bridge's /24 of this run only, so that two runs (or other tests) never meet:
// `nst-wXX-nsweb1` stays within a link name's 15 characters. The ports are the kernel's (port 0).
const PREFIX = `nst-w${randomBytes(1).toString('hex')}-`;
const NET = `198.19.${randomInt(256)}`;
const LIMIT_MS = 300_000;

function removeLeftovers(): void {
  for (const ns of [`${PREFIX}web-1`, `${PREFIX}web-2`]) execFileSync('sh', ['-c', `ip netns delete ${ns} 2>/dev/null || true`]);
  for (const l of [`${PREFIX}nsweb1`, `${PREFIX}nsweb2`, `${PREFIX}nsbr0`]) execFileSync('sh', ['-c', `ip link delete ${l} 2>/dev/null || true`]);
}

test('scripts/walkthrough.sh: the README journey end to end (init, server with tokens, push, refused pushes, two agents, releases, status, drift, lockout, rollback)', async (t) => {
  const bin = makeTempDir(t, 'nft-sync-walk-bin-');
  // `nft-sync` as an operator types it, from this checkout's sources.
  writeFileSync(join(bin, 'nft-sync'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --import ${JSON.stringify(import.meta.resolve('tsx'))} ${JSON.stringify(resolve('cli/main.ts'))} "$@"\n`);
  chmodSync(join(bin, 'nft-sync'), 0o755);
  removeLeftovers();
  const child = spawn('bash', ['scripts/walkthrough.sh'], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NS_PREFIX: PREFIX, WALK_NET: NET },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup('SIGTERM');
      const late = setTimeout(() => killGroup('SIGKILL'), 15_000);
      await exited;
      clearTimeout(late);
    }
    killGroup('SIGKILL');
    removeLeftovers();
  });
  const timer = setTimeout(() => killGroup('SIGTERM'), LIMIT_MS);
  const code = await exited;
  clearTimeout(timer);
  t.diagnostic(out.split('\n').filter((l) => l.startsWith('== ')).join(' | '));
  assert.equal(code, 0, out.slice(-4000));
  assert.match(out, /== walkthrough complete\n$/);
  // Every bad push was refused for its own reason, and the server listened on ports of its own.
  for (const code of ['RULESET_SCHEMA', 'RULESET_JSON', 'NFT_APPLY', 'RULESET_NOT_FOUND']) assert.match(out, new RegExp(`NFTSYNC_ERR_${code}: `), code);
  assert.doesNotMatch(out, /127\.0\.0\.1:7480\/|:7400 /, 'the README\'s fixed ports are not used');
});
