/**
 * Operator habits of the command line, through real CLI processes: --version, flag values that
 * look like flags, one --config file for agent and pull, coded errors that name the mistake,
 * and log lines an operator's tools can parse.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { makeTempDir } from '../helpers/temp-dir.js';


/** The top-level keys of one JSON object text, in order, repeats kept (JSON.parse drops them). */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && /^\s*:/.test(text.slice(j + 1, j + 3))) keys.push(text.slice(i + 1, j));
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

test('nft-sync --version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const arg of ['--version', 'version']) {
    const r = await runCli([arg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `nft-sync ${version}\n`);
  }
});

test('a negative number after a flag gets the flag\'s own range message, not parseArgs\' "ambiguous"', async () => {
  for (const cmd of ['pull', 'agent']) {
    const r = await runCli([cmd, '--server', '127.0.0.1:1', '--ref', 'main', '--name', 'h', '--confirm-window', '-1']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, 'nft-sync: NFTSYNC_ERR_USAGE: --confirm-window must be a number of seconds from 0 to 86400, got "-1"\n');
  }
});

test('one --config file serves agent and pull: the other command\'s keys are ignored (debug log), unknown keys refused', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-ops-');
  const port = await freePort();
  const config = join(dir, 'agent.yaml');
  // Every key the agent takes; pull has no self-heal or drift-interval.
  writeFileSync(config, `server: 127.0.0.1:${port}\nref: main\nname: web-1\nself-heal: false\ndrift-interval: 30\nconfirm-window: 10\nstate-dir: ${join(dir, 'state')}\nlog-level: debug\n`);
  const pull = await runCli(['pull', '--config', config]);
  // Past the flags: it fails to reach the (closed) port, not on the file.
  assert.equal(pull.code, 1, pull.stderr);
  assert.match(pull.stderr, /\nnft-sync: NFTSYNC_ERR_CONN_FAILED: cannot reach 127\.0\.0\.1:\d+/);
  const debug = pull.stderr.split('\n').find((l) => l.includes('settings of nft-sync agent ignored'));
  assert.ok(debug, pull.stderr);
  assert.deepEqual((JSON.parse(debug) as { keys: string[] }).keys, ['self-heal', 'drift-interval']);
  const help = await runCli(['agent', '--config', config, '--help']);
  assert.equal(help.code, 0, help.stderr);
  writeFileSync(config, `server: 127.0.0.1:${port}\nref: main\nself-heel: false\n`);
  for (const cmd of ['pull', 'agent']) {
    const r = await runCli([cmd, '--config', config]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `nft-sync: NFTSYNC_ERR_USAGE: ${cmd}: --config ${config}: unknown setting "self-heel"\n`);
  }
});

test('pki issue of a name that exists: NFTSYNC_ERR_PKI_EXISTS, and the files are kept', async (t) => {
  const dir = join(makeTempDir(t, 'nft-sync-ops-'), 'pki');
  assert.equal((await runCli(['pki', 'init', '--dir', dir])).code, 0);
  assert.equal((await runCli(['pki', 'issue', '--dir', dir, '--name', 'web-1'])).code, 0);
  const before = readFileSync(join(dir, 'web-1.crt'), 'utf8');
  const again = await runCli(['pki', 'issue', '--dir', dir, '--name', 'web-1']);
  assert.equal(again.code, 1);
  // It says what to do about it, as every message should.
  assert.match(again.stderr, /^nft-sync: NFTSYNC_ERR_PKI_EXISTS: .*web-1\.crt or .*web-1\.key already exists; nothing was overwritten: use that certificate, or remove both files to issue a new one\n$/);
  assert.equal(readFileSync(join(dir, 'web-1.crt'), 'utf8'), before);
  const init = await runCli(['pki', 'init', '--dir', dir]);
  assert.match(init.stderr, /^nft-sync: NFTSYNC_ERR_PKI_EXISTS: /);
});

test('a TLS client pointed at a plain-TCP server gets a one-line hint, not OpenSSL text', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-ops-');
  const pki = join(dir, 'pki');
  await runCli(['pki', 'init', '--dir', pki]);
  await runCli(['pki', 'issue', '--dir', pki, '--name', 'web-1']);
  assert.equal((await runCli(['init', join(dir, 'rules.git')])).code, 0);
  const address = `127.0.0.1:${await freePort()}`;
  const server = startCli(t, ['server', '--repo', join(dir, 'rules.git'), '--listen', address]);
  await server.waitFor(/wire protocol listening/);
  const tlsFlags = ['--tls-ca', join(pki, 'ca.crt'), '--tls-cert', join(pki, 'web-1.crt'), '--tls-key', join(pki, 'web-1.key')];
  const r = await runCli(['fetch', '--server', address, '--ref', 'main', ...tlsFlags]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `nft-sync: NFTSYNC_ERR_CONN_FAILED: ${address} does not speak TLS (a plain-TCP server? drop --tls-ca, --tls-cert and --tls-key, or use the server's TLS port)\n`);
  assert.equal(await server.stop(), 0);
});

test('server log lines carry each key once (no "component" twice from the HTTP app\'s child logger)', async (t) => {
  const dir = makeTempDir(t, 'nft-sync-ops-');
  assert.equal((await runCli(['init', join(dir, 'rules.git')])).code, 0);
  const http = `127.0.0.1:${await freePort()}`;
  const server = startCli(t, ['server', '--repo', join(dir, 'rules.git'), '--listen', `127.0.0.1:${await freePort()}`, '--http', http, '--log-level', 'debug']);
  await server.waitFor(/http listening/);
  const res = await fetch(`http://${http}/api/v1/agents`);
  assert.equal(res.status, 200);
  await server.waitFor(/"component":"http"/);
  assert.equal(await server.stop(), 0);
  const lines = server.stdout().split('\n').filter((l) => l.startsWith('{'));
  assert.ok(lines.length > 3);
  for (const line of lines) {
    const keys = topLevelKeys(line);
    assert.deepEqual(keys, [...new Set(keys)], `duplicate keys in ${line}`);
  }
});
