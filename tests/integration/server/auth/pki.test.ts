/** `nft-sync pki` with the real openssl: what goes into the certificates, and what is refused. */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initPki, issueCertificate } from '../../../../server/auth/pki.js';
import { tempDir } from '../../../helpers/git-fixture.js';

test('pki: a CA, a server certificate for an IP and a host name, an agent certificate', async (t) => {
  const dir = join(tempDir(t, 'nft-sync-pki-'), 'ca');
  const ca = await initPki(dir);
  assert.equal(statSync(ca.key).mode & 0o777, 0o600);
  const caCert = new X509Certificate(readFileSync(ca.cert));
  assert.equal(caCert.ca, true);
  const ip = new X509Certificate(readFileSync((await issueCertificate(dir, '198.18.0.1', { server: true })).cert));
  assert.match(ip.subjectAltName ?? '', /IP Address:198\.18\.0\.1/);
  assert.ok(ip.checkIssued(caCert) && ip.verify(caCert.publicKey));
  assert.ok(ip.checkIP('198.18.0.1'));
  const v6 = new X509Certificate(readFileSync((await issueCertificate(dir, 'fd00::1', { server: true })).cert));
  assert.ok(v6.checkIP('fd00::1'));
  const host = new X509Certificate(readFileSync((await issueCertificate(dir, 'fw.example.org', { server: true })).cert));
  assert.equal(host.checkHost('fw.example.org'), 'fw.example.org');
  assert.deepEqual(host.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  const agent = await issueCertificate(dir, 'web-1');
  assert.equal(statSync(agent.key).mode & 0o777, 0o600);
  const a = new X509Certificate(readFileSync(agent.cert));
  assert.match(a.subject, /CN=web-1/);
  assert.equal(a.subjectAltName, 'DNS:web-1');
  assert.deepEqual(a.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal(a.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const days = (Date.parse(a.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 360 && days < 400, `leaf valid ${days} days`);
});

test('pki: hostile names, a missing CA and existing files are refused', async (t) => {
  const dir = join(tempDir(t, 'nft-sync-pki-'), 'ca');
  await assert.rejects(issueCertificate(dir, 'web-1'), { code: 'NFTSYNC_ERR_CONFIG_INVALID' });
  await initPki(dir);
  await assert.rejects(initPki(dir), { code: 'NFTSYNC_ERR_PKI_EXISTS' });
  for (const name of ['', '../ca', 'a/b', '/CN=x', 'web 1', 'x,DNS:evil', '-out', 'a..b', 'é']) {
    await assert.rejects(issueCertificate(dir, name), { code: 'NFTSYNC_ERR_USAGE' }, name);
  }
  await assert.rejects(issueCertificate(dir, '198.18.0.1'), { code: 'NFTSYNC_ERR_USAGE' });
  await issueCertificate(dir, 'web-1');
  await assert.rejects(issueCertificate(dir, 'web-1'), { code: 'NFTSYNC_ERR_PKI_EXISTS' });
});
