/**
 * Mutual TLS on the wire protocol with certificates made by `nft-sync pki` (initPki,
 * issueCertificate): who gets in, who is turned away and with which code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import type { NftSyncError } from '../../../../shared/errors.js';
import { clientTlsOptions, serverTlsOptions, type TlsMaterial } from '../../../../cli/tls-flags.js';
import { initPki, issueCertificate } from '../../../../server/auth/pki.js';
import { tempDir } from '../../../helpers/git-fixture.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

async function makePki(dir: string, names: { server: string[]; agents: string[] }): Promise<void> {
  await initPki(dir);
  for (const n of names.server) await issueCertificate(dir, n, { server: true });
  for (const n of names.agents) await issueCertificate(dir, n);
}

function material(dir: string, name: string, caDir = dir): TlsMaterial {
  return { ca: readFileSync(join(caDir, 'ca.crt')), cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) };
}

async function tlsFixture(t: Parameters<typeof startServerFixture>[0]) {
  const dir = tempDir(t, 'nft-sync-pki-');
  const ca = join(dir, 'ca');
  const other = join(dir, 'other');
  await makePki(ca, { server: ['127.0.0.1', 'localhost'], agents: ['web-1', 'db-1'] });
  await makePki(other, { server: [], agents: ['web-1'] });
  const fx = await startServerFixture(t, { tls: serverTlsOptions(material(ca, '127.0.0.1')) });
  const defaultJson = readFileSync('repo-template/rulesets/default.json', 'utf8');
  fx.push({
    'rulesets/web.json': defaultJson,
    'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: web\n',
  });
  const connect = (agent: string | undefined, m: TlsMaterial, host = '127.0.0.1') =>
    WireClient.connect({ host, port: fx.port, agent, tls: clientTlsOptions(m, host), connectTimeoutMs: 3000 });
  return { fx, ca, other, connect };
}

async function refused(p: Promise<WireClient>): Promise<string> {
  try {
    const c = await p;
    c.close();
  } catch (err) {
    return (err as { code: string }).code;
  }
  assert.fail('connection was not refused');
}

test('mutual TLS: a good certificate gets its own ruleset; another agent\'s ruleset is refused', async (t) => {
  const { ca, connect } = await tlsFixture(t);
  const c = await connect('web-1', material(ca, 'web-1'));
  t.after(() => c.close());
  const own = await c.fetch({ ref: 'main' });
  assert.equal(own.ruleset, 'web');
  const explicit = await c.fetch({ ref: 'main', ruleset: 'web' });
  assert.equal(explicit.kind, 'ruleset');
  await assert.rejects(c.fetch({ ref: 'main', ruleset: 'default' }), { code: 'NFTSYNC_ERR_ACCESS_DENIED' });
  // The refusal is a request error: the link stays up.
  assert.ok((await c.ping()) >= 0);
  const db = await connect('db-1', material(ca, 'db-1'));
  t.after(() => db.close());
  assert.equal((await db.fetch({ ref: 'main' })).ruleset, 'default');
  await assert.rejects(db.fetch({ ref: 'main', ruleset: 'web' }), { code: 'NFTSYNC_ERR_ACCESS_DENIED' });
});

test('mutual TLS: a certificate whose name differs from hello, or no name at all, gets the identity error', async (t) => {
  const { ca, connect } = await tlsFixture(t);
  assert.equal(await refused(connect('db-1', material(ca, 'web-1'))), 'NFTSYNC_ERR_TLS_IDENTITY');
  assert.equal(await refused(connect(undefined, material(ca, 'web-1'))), 'NFTSYNC_ERR_TLS_IDENTITY');
});

test('mutual TLS: no client certificate, or one from another CA, is refused at the handshake', async (t) => {
  const { fx, ca, other, connect } = await tlsFixture(t);
  const noCert = WireClient.connect({ host: '127.0.0.1', port: fx.port, agent: 'web-1', tls: { ca: readFileSync(join(ca, 'ca.crt')) }, connectTimeoutMs: 3000 });
  assert.equal(await refused(noCert), 'NFTSYNC_ERR_TLS_REJECTED');
  // Other CA's web-1 certificate, but our CA to check the server: the server refuses us.
  assert.equal(await refused(connect('web-1', material(other, 'web-1', ca))), 'NFTSYNC_ERR_TLS_REJECTED');
  // The server's certificate is not from the CA the client trusts: the client refuses.
  assert.equal(await refused(connect('web-1', material(ca, 'web-1', other))), 'NFTSYNC_ERR_TLS_SERVER_UNTRUSTED');
  assert.equal(fx.server.wire.connections, 0);
});

test('mutual TLS: a server certificate that does not name the host is refused by the client', async (t) => {
  const { ca, connect } = await tlsFixture(t);
  // The server presents 127.0.0.1's certificate; "localhost" is not in it.
  const err = await refused(connect('web-1', material(ca, 'web-1'), 'localhost'));
  assert.equal(err, 'NFTSYNC_ERR_TLS_SERVER_UNTRUSTED');
});

test('mutual TLS: a plain-TCP client against the TLS server fails cleanly', async (t) => {
  const { fx } = await tlsFixture(t);
  const err = await refused(WireClient.connect({ host: '127.0.0.1', port: fx.port, agent: 'web-1', connectTimeoutMs: 3000 }));
  assert.ok(['NFTSYNC_ERR_CONN_FAILED', 'NFTSYNC_ERR_MSG_MALFORMED', 'NFTSYNC_ERR_FRAME_TOO_LARGE'].includes(err), err);
});

test('mutual TLS: nft-sync.yaml on the default branch decides; an old ref whose mapping granted more grants nothing more', async (t) => {
  const { fx, ca, connect } = await tlsFixture(t);
  const defaultJson = readFileSync('repo-template/rulesets/default.json', 'utf8');
  // Once, web agents were given the db ruleset; the release of that time is tagged.
  fx.push({ 'rulesets/db.json': defaultJson, 'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: db\n' });
  fx.git(['tag', 'old-release']);
  fx.git(['push', '-q', 'origin', 'old-release']);
  // Now they are given web again.
  fx.push({ 'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: web\n' });
  const c = await connect('web-1', material(ca, 'web-1'));
  t.after(() => c.close());
  await assert.rejects(c.fetch({ ref: 'old-release', ruleset: 'db' }), { code: 'NFTSYNC_ERR_ACCESS_DENIED' });
  const own = await c.fetch({ ref: 'old-release' });
  assert.equal(own.ruleset, 'web', 'the old ref is served with the mapping of the default branch');
  assert.equal(own.commit, fx.git(['rev-parse', 'old-release^{commit}']));
});

test('mutual TLS: a fetch with a release proof and no ruleset is denied when the signed commit maps the agent elsewhere than the default branch', async (t) => {
  const { fx, ca, connect } = await tlsFixture(t);
  const defaultJson = readFileSync('repo-template/rulesets/default.json', 'utf8');
  fx.push({ 'rulesets/db.json': defaultJson, 'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: db\n' });
  fx.git(['tag', '-a', '-m', 'release', 'v1.0.0']);
  fx.git(['push', '-q', 'origin', 'v1.0.0']);
  fx.push({ 'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: web\n' });
  const c = await connect('web-1', material(ca, 'web-1'));
  t.after(() => c.close());
  // The signed agent would check the choice against the signed nft-sync.yaml (db): the server
  // says why it cannot serve it rather than answer with web, which the agent would take for a forgery.
  await assert.rejects(c.fetch({ ref: 'v1.0.0', proof: true }), (err: NftSyncError) => err.code === 'NFTSYNC_ERR_ACCESS_DENIED' && /signed nft-sync\.yaml/.test(err.message));
  fx.git(['tag', '-a', '-m', 'release', 'v1.1.0']);
  fx.git(['push', '-q', 'origin', 'v1.1.0']);
  const ok = await c.fetch({ ref: 'v1.1.0', proof: true });
  assert.equal(ok.ruleset, 'web');
});
