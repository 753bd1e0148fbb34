/**
 * cli/tls-flags.ts: the three TLS flags go together and must be a usable CA, certificate and
 * key; the Node TLS options built from them; the names a certificate gives (with `nft-sync pki`
 * certificates, made by the openssl CLI, in a temporary folder).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { certificateIdentities, clientTlsOptions, loadTlsMaterial, nameFromCertificate, serverTlsOptions } from '../../../cli/tls-flags.js';
import { testPki, type TestPki } from '../../helpers/pki-fixture.js';

// One PKI for all (openssl makes each key): a CA, a server certificate for 127.0.0.1 and one for web-1.
test('TLS flags with one nft-sync pki', async (t) => {
  const pki = await testPki(t, ['web-1']);
  await t.test('loadTlsMaterial', (s) => loadTlsMaterialCases(s, pki));
  await t.test('server and client options', () => tlsOptionsCases(pki));
  await t.test('certificate names', () => certificateNameCases(pki));
});

/** None given is no TLS; some given NFTSYNC_ERR_USAGE; unreadable or mismatched files NFTSYNC_ERR_CONFIG_INVALID; all three read. */
function loadTlsMaterialCases(_t: TestContext, pki: TestPki): void {
  const f = (name: string) => join(pki.dir, name);
  assert.equal(loadTlsMaterial({}), undefined);
  assert.throws(() => loadTlsMaterial({ 'tls-ca': f('ca.crt') }), { code: 'NFTSYNC_ERR_USAGE' });
  assert.throws(() => loadTlsMaterial({ 'tls-ca': f('ca.crt'), 'tls-cert': f('web-1.crt'), 'tls-key': f('missing.key') }), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_CONFIG_INVALID' && /--tls-key .*missing\.key/.test(err.message));
  assert.throws(() => loadTlsMaterial({ 'tls-ca': f('ca.crt'), 'tls-cert': f('web-1.crt'), 'tls-key': f('127.0.0.1.key') }), (err: Error & { code?: string }) => err.code === 'NFTSYNC_ERR_CONFIG_INVALID' && /key does not belong/.test(err.message));
  writeFileSync(f('empty.crt'), '');
  assert.throws(() => loadTlsMaterial({ 'tls-ca': f('empty.crt'), 'tls-cert': f('web-1.crt'), 'tls-key': f('web-1.key') }), { code: 'NFTSYNC_ERR_CONFIG_INVALID' });
  const m = loadTlsMaterial({ 'tls-ca': f('ca.crt'), 'tls-cert': f('web-1.crt'), 'tls-key': f('web-1.key') });
  assert.deepEqual(m, pki.material('web-1'));
}

/** Client certificates required, TLS 1.2 at least, SNI only for a host name. */
function tlsOptionsCases(pki: TestPki): void {
  const m = pki.material('127.0.0.1');
  assert.deepEqual(serverTlsOptions(m), { ca: m.ca, cert: m.cert, key: m.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  assert.equal(clientTlsOptions(m, '127.0.0.1').servername, undefined);
  assert.equal(clientTlsOptions(m, '::1').servername, undefined);
  assert.equal(clientTlsOptions(m, 'nft-sync.example').servername, 'nft-sync.example');
  assert.equal(clientTlsOptions(m, 'x').rejectUnauthorized, true);
}

/** certificateIdentities and nameFromCertificate: a pki certificate names its agent; no flag or no file gives no default name. */
function certificateNameCases(pki: TestPki): void {
  assert.deepEqual(certificateIdentities(pki.material('web-1').cert), ['web-1']);
  assert.equal(nameFromCertificate({ 'tls-cert': join(pki.dir, 'web-1.crt') }), 'web-1');
  assert.equal(nameFromCertificate({}), undefined);
  assert.equal(nameFromCertificate({ 'tls-cert': join(pki.dir, 'missing.crt') }), undefined);
  const ca = certificateIdentities(pki.material('web-1').ca);
  assert.equal(ca.length, 1, `the CA has its CN only: ${ca.join(', ')}`);
}
