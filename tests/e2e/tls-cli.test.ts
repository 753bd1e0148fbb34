/**
 * Mutual TLS through the command line: `nft-sync pki` makes the CA and certificates, the server
 * and the agent run as processes with --tls-*, the agent applies with the real nft inside a
 * throwaway namespace; a wrongly certified agent keeps retrying with backoff and gets nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort, runCli, startCli } from '../helpers/cli-process.js';
import { testGitEnv } from '../helpers/git-fixture.js';
import { createNetns } from '../helpers/netns.js';
import { makeTempDir } from '../helpers/temp-dir.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');


async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `nft-sync ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('mutual TLS from the command line', () => {
  test('pki makes a CA and certificates; an agent over TLS applies pushes; a stranger is refused and retried', async (t) => {
    const dir = makeTempDir(t, 'nft-sync-e2e-tls-');
    const pki = join(dir, 'pki');
    const other = join(dir, 'other');
    await cli(['pki', 'init', '--dir', pki]);
    await cli(['pki', 'issue', '--dir', pki, '--name', '127.0.0.1', '--server']);
    await cli(['pki', 'issue', '--dir', pki, '--name', 'host-1']);
    await cli(['pki', 'init', '--dir', other]);
    await cli(['pki', 'issue', '--dir', other, '--name', 'host-1']);
    assert.equal(statSync(join(pki, 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(pki, 'host-1.key')).mode & 0o777, 0o600);
    const again = await runCli(['pki', 'init', '--dir', pki]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /NFTSYNC_ERR_PKI_EXISTS/);
    const hostile = await runCli(['pki', 'issue', '--dir', pki, '--name', '/CN=evil']);
    assert.equal(hostile.code, 2);

    const repo = join(dir, 'rules.git');
    await cli(['init', repo]);
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const tlsOf = (d: string, name: string, ca = d) => ['--tls-ca', join(ca, 'ca.crt'), '--tls-cert', join(d, `${name}.crt`), '--tls-key', join(d, `${name}.key`)];
    const server = startCli(t, ['server', '--repo', repo, '--listen', address, ...tlsOf(pki, '127.0.0.1'), '--log-level', 'info']);
    await server.waitFor(/wire protocol listening/);

    // fetch: with the agent's certificate and name it works; without TLS it fails cleanly.
    const ok = await runCli(['fetch', '--server', address, '--ref', 'main', '--name', 'host-1', ...tlsOf(pki, 'host-1')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, DEFAULT);
    const plain = await runCli(['fetch', '--server', address, '--ref', 'main']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /^nft-sync: NFTSYNC_ERR_CONN_FAILED: .*\(a TLS server\? give --tls-ca, --tls-cert and --tls-key\)\n$/);
    // fetch under TLS without --name: the certificate carries exactly one name, so that is it.
    const noName = await runCli(['fetch', '--server', address, '--ref', 'main', ...tlsOf(pki, 'host-1')]);
    assert.equal(noName.code, 0, noName.stderr);
    assert.equal(noName.stdout, DEFAULT);
    const wrongName = await runCli(['fetch', '--server', address, '--ref', 'main', '--name', 'host-2', ...tlsOf(pki, 'host-1')]);
    assert.match(wrongName.stderr, /NFTSYNC_ERR_TLS_IDENTITY/);
    const badFile = await runCli(['fetch', '--server', address, '--ref', 'main', '--tls-ca', join(pki, 'ca.srl'), '--tls-cert', join(pki, 'host-1.crt'), '--tls-key', join(pki, 'host-1.key')]);
    assert.equal(badFile.code, 1);
    assert.match(badFile.stderr, /NFTSYNC_ERR_CONFIG_INVALID/);

    const ns = createNetns(t, 'tls');
    // No --name: under TLS the agent takes the one name its certificate carries.
    const agent = startCli(t, ['agent', '--server', address, '--ref', 'main', ...tlsOf(pki, 'host-1'), '--nft', ns.nftCommand, '--state-dir', join(dir, 'state')]);
    await agent.waitFor(/"msg":"applied"/);
    assert.match(agent.stdout(), /"agent":"host-1"/);
    assert.match(ns.nft(['list', 'ruleset']), /tcp dport 22 accept/);
    const clone = join(dir, 'clone');
    const git = (args: string[]) => execFileSync('git', args, { cwd: clone, env: testGitEnv(), encoding: 'utf8' });
    execFileSync('git', ['clone', '-q', repo, clone], { env: testGitEnv() });
    writeFileSync(join(clone, 'rulesets/default.json'), DEFAULT.replace(/"right": 22\b/, '"right": 2201'));
    git(['commit', '-qam', 'port 2201']);
    const mark = agent.stdout().length;
    git(['push', '-q', 'origin', 'HEAD:main']);
    await agent.waitFor(/"msg":"applied"/, 5000, mark);
    assert.match(ns.nft(['list', 'ruleset']), /tcp dport 2201 accept/);

    // A certificate from another CA: refused at the handshake, logged with the TLS code, retried.
    const ns2 = createNetns(t, 'tlsx');
    const stranger = startCli(t, ['agent', '--server', address, '--ref', 'main', '--name', 'host-1', ...tlsOf(other, 'host-1', pki), '--nft', ns2.nftCommand, '--state-dir', join(dir, 'state2')]);
    await stranger.waitFor(/NFTSYNC_ERR_TLS_REJECTED[\s\S]*NFTSYNC_ERR_TLS_REJECTED/, 10_000);
    assert.doesNotMatch(ns2.nft(['list', 'ruleset']), /table/);
    assert.equal(await stranger.stop('SIGTERM'), 0);
    assert.equal(await agent.stop('SIGTERM'), 0);
    assert.equal(await server.stop('SIGTERM'), 0);
  });
});
