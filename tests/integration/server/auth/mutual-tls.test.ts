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
import { addElements, startServerFixture } from '../../../helpers/server-fixture.js';
import tls from 'node:tls';
import { testPki } from '../../../helpers/pki-fixture.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { waitFor } from '../../../helpers/wait-for.js';
import { encodeMessage, type DecodedMessage } from '../../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { SERVER_MESSAGE_TYPES, type ServerMessage } from '../../../../shared/wire/messages.js';

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

test('security: protocol 2 `ahead` goes by what the server served, never by a report: a TLS agent limited to ruleset `web` that reports holding `default` gets no delta of it', async (t) => {
  const pki = await testPki(t, ['web-1', 'db-1']);
  const f = await startServerFixture(t, { tls: serverTlsOptions(pki.material('127.0.0.1')), http: { host: '127.0.0.1', port: 0 }, refWatch: { fsEvents: false, pollMs: 600_000 } });
  const defaultJson = readFileSync('repo-template/rulesets/default.json', 'utf8');
  const base = JSON.parse(defaultJson) as { nftables: unknown[] };
  const elem = Array.from({ length: 2000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
  f.push({
    'rulesets/default.json': renderRuleset({ nftables: [...base.nftables, { set: { family: 'inet', table: 'nft_sync', name: 'blk', type: 'ipv4_addr', elem } }] } as Ruleset),
    'rulesets/web.json': defaultJson,
    'nft-sync.yaml': 'version: 1\nagents:\n  - match: "web-*"\n    ruleset: web\n',
  });
  const change = (add: string[]): Promise<string> => addElements(f, add);
  const one = await change(['198.19.0.1']);
  // The blob id of `default` at `one` (not a secret: any holder's report lists it; here db-1's fetch).
  const db = await WireClient.connect({ host: '127.0.0.1', port: f.port, agent: 'db-1', tls: clientTlsOptions(pki.material('db-1'), '127.0.0.1') });
  t.after(() => db.close());
  const held = await db.fetch({ ref: 'main' });
  assert.ok(held.kind === 'ruleset' && held.ruleset === 'default' && held.commit === one);

  // web-1, a raw protocol-2 client with its own valid certificate.
  const m = pki.material('web-1');
  const socket = tls.connect({ ...clientTlsOptions(m, '127.0.0.1'), host: '127.0.0.1', port: f.port });
  t.after(() => socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
  const got: DecodedMessage<ServerMessage>[] = [];
  socket.on('data', (chunk) => got.push(...reader.push(chunk)));
  const send = (msg: object) => socket.write(encodeMessage(msg as never));
  send({ type: 'hello', versions: [1, 2], agent: 'web-1' });
  send({ type: 'fetch', id: 1, ref: 'main', ruleset: 'default' });
  send({ type: 'subscribe', id: 2, ref: 'main', ahead: true });
  send({ type: 'report', id: 3, status: { agent: 'web-1', ref: 'main', ruleset: 'default', commit: one, blob: held.blob, state: 'Applied', conditions: [] } });
  await waitFor(() => got.some((x) => x.message.type === 'ack'), { timeoutMs: 10_000, what: 'web-1 reported' });
  const denied = got.find((x) => x.message.type === 'error')?.message;
  assert.ok(denied?.type === 'error' && denied.code === 'NFTSYNC_ERR_ACCESS_DENIED', 'web-1 may not fetch `default`');

  const secret = '198.19.77.77';
  const two = await change([secret]);
  await waitFor(() => got.some((x) => x.message.type === 'moved' && x.message.commit === two), { timeoutMs: 10_000, what: 'moved' });
  const ahead = got.find((x) => x.message.type === 'ahead');
  const leaked = ahead?.body?.toString('utf8').includes(secret) === true;
  assert.equal(ahead, undefined, `web-1 was sent an ahead frame of ruleset default${leaked ? ` whose delta carries the new element ${secret}` : ''}`);
});
