/**
 * server/auth/peer-identity.ts: the names a verified client certificate gives, the hello name
 * checked against them (real TLS on loopback, certificates from `nft-sync pki`), and which
 * ruleset an agent may fetch (against a fake ruleset source: the mapping is given, not read from git).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import tls from 'node:tls';
import { clientTlsOptions, serverTlsOptions } from '../../../../cli/tls-flags.js';
import { allowedRuleset, certificateNames, checkPeerIdentity, isTlsSocket } from '../../../../server/auth/peer-identity.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { testPki } from '../../../helpers/pki-fixture.js';

/** The server side of one TLS connection from a client holding `name`'s certificate. */
async function serverSideOf(t: TestContext, name: string): Promise<tls.TLSSocket> {
  const pki = await testPki(t, [name]);
  let accepted!: (s: tls.TLSSocket) => void;
  const got = new Promise<tls.TLSSocket>((r) => (accepted = r));
  const server = tls.createServer(serverTlsOptions(pki.material('127.0.0.1')), (s) => accepted(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = tls.connect({ ...clientTlsOptions(pki.material(name), '127.0.0.1'), host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  client.on('error', () => {});
  const socket = await got;
  t.after(() => {
    client.destroy();
    socket.destroy();
    server.close();
  });
  return socket;
}

test('a verified client certificate: its names, and the hello name must be one of them (NFTSYNC_ERR_TLS_IDENTITY otherwise)', async (t) => {
  const socket = await serverSideOf(t, 'web-1');
  assert.equal(isTlsSocket(socket), true);
  assert.deepEqual(certificateNames(socket), ['web-1']);
  assert.equal(checkPeerIdentity(socket, 'web-1'), undefined);
  const other = checkPeerIdentity(socket, 'db-1');
  assert.equal(other?.code, 'NFTSYNC_ERR_TLS_IDENTITY');
  assert.deepEqual(other?.data, { agent: 'db-1', certificate: ['web-1'] });
  assert.match(checkPeerIdentity(socket, undefined)?.message ?? '', /must give its agent name.*web-1/);
});

/** A fake ruleset source: HEAD at `head`, and per commit the ruleset nft-sync.yaml gives each agent. */
function fakeSource(head: string | undefined, mapping: Record<string, Record<string, string>>) {
  return {
    resolveRef: async (ref: string) => {
      if (ref !== 'HEAD' || head === undefined) throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no ${ref}`);
      return head;
    },
    rulesetForAgent: async (commit: string, agent: string) => mapping[commit]?.[agent] ?? 'default',
  };
}

test('allowedRuleset (fake ruleset source): the ruleset the default branch gives the agent, whatever ref; another asked for NFTSYNC_ERR_ACCESS_DENIED; with a proof the signed commit\'s own mapping must agree', async () => {
  const source = fakeSource('h', { h: { 'web-1': 'web' }, old: { 'web-1': 'db' } });
  assert.equal(await allowedRuleset(source, 'web-1', 'old', undefined), 'web', 'the newest mapping, not the old ref\'s');
  assert.equal(await allowedRuleset(source, 'web-1', 'h', 'web'), 'web');
  await assert.rejects(allowedRuleset(source, 'web-1', 'h', 'db'), (err: NftSyncError) => err.code === 'NFTSYNC_ERR_ACCESS_DENIED' && (err.data as { allowed: string }).allowed === 'web');
  await assert.rejects(allowedRuleset(source, 'web-1', 'old', undefined, true), (err: NftSyncError) => err.code === 'NFTSYNC_ERR_ACCESS_DENIED' && /signed nft-sync\.yaml at old/.test(err.message));
  assert.equal(await allowedRuleset(source, 'web-1', 'h', undefined, true), 'web');
  assert.equal(await allowedRuleset(source, 'db-9', 'old', undefined), 'default');
  await assert.rejects(allowedRuleset(fakeSource(undefined, {}), 'web-1', 'x', undefined), (err: NftSyncError) => err.code === 'NFTSYNC_ERR_REF_NOT_FOUND' && /default branch \(HEAD\) does not exist/.test(err.message));
});
