/**
 * `publish` on the wire: who may publish (a write token in hello, or under mutual TLS the
 * certificate, and an nft-sync.yaml `publishers` entry on the default branch), and the answer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { clientTlsOptions, serverTlsOptions } from '../../../../cli/tls-flags.js';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { testPki } from '../../../helpers/pki-fixture.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

const TOKEN = 'publish-token-0123456789abcdef';
const tokens = parseTokenList(`${TOKEN} ops\n`);
const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const live = Buffer.from(DEFAULT.replace(/"right": 22\b/, '"right": 2222'));
const PUBLISHERS = 'version: 1\nrulesets:\n  default:\n    publishers: ["node-*"]\n';

test('plain TCP: a write token and a publishers entry publish; without either, PUBLISH_DENIED', async (t) => {
  const f = await startServerFixture(t, { tokens });
  const base = f.git(['rev-parse', 'main'], f.bare);
  const connect = async (agent: string, token?: string) => {
    const c = await WireClient.connect({ host: f.host, port: f.port, agent, token });
    t.after(() => c.close());
    return c;
  };
  const req = { ref: 'main', ruleset: 'default', base, bytes: live };
  // No publishers entry yet: nobody may, token or not.
  await assert.rejects((await connect('node-1', TOKEN)).publish(req), (e: { code: string; message: string }) => e.code === 'NFTSYNC_ERR_PUBLISH_DENIED' && /rulesets\.default\.publishers/.test(e.message));
  const withEntry = f.push({ 'nft-sync.yaml': PUBLISHERS }, 'node-* may publish');
  const req2 = { ...req, base: withEntry };
  await assert.rejects((await connect('node-1')).publish(req2), (e: { code: string; message: string }) => e.code === 'NFTSYNC_ERR_PUBLISH_DENIED' && /no write credential/.test(e.message));
  await assert.rejects((await connect('node-1', 'not-a-token-0123456789')).publish(req2), { code: 'NFTSYNC_ERR_PUBLISH_DENIED' });
  await assert.rejects((await connect('web-1', TOKEN)).publish(req2), { code: 'NFTSYNC_ERR_PUBLISH_DENIED' }, 'an agent the entry does not match');
  assert.equal(f.git(['rev-parse', 'main'], f.bare), withEntry, 'nothing was committed');
  const c = await connect('node-1', TOKEN);
  const r = await c.publish(req2);
  assert.equal(r.unchanged, false);
  assert.equal(r.rebased, false);
  assert.equal(f.git(['rev-parse', 'main'], f.bare), r.commit);
  assert.equal(f.git(['log', '-1', '--format=%an', r.commit], f.bare), 'node-1');
  assert.equal(f.git(['rev-parse', `${r.commit}:rulesets/default.json`], f.bare), r.blob);
  // A frame bigger than 64 KiB is accepted from a writer (a whole ruleset), not from others.
  assert.ok(c.welcome.maxFrame > 64 * 1024);
  assert.equal((await connect('node-1')).welcome.maxFrame, 64 * 1024);
});

test('mutual TLS: the certificate is the write credential', async (t) => {
  const pki = await testPki(t, ['node-1']);
  const f = await startServerFixture(t, { tls: serverTlsOptions(pki.material('127.0.0.1')) });
  const base = f.push({ 'nft-sync.yaml': PUBLISHERS }, 'node-* may publish');
  const c = await WireClient.connect({ host: '127.0.0.1', port: f.port, agent: 'node-1', tls: clientTlsOptions(pki.material('node-1'), '127.0.0.1') });
  t.after(() => c.close());
  const r = await c.publish({ ref: 'main', ruleset: 'default', base, bytes: live });
  assert.match(f.git(['log', '-1', '--format=%B', r.commit], f.bare), /Published-by: node-1 \(certificate\)/);
});
