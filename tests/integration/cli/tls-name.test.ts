/**
 * `--name` from the TLS certificate (cli/tls-flags.ts): the names a certificate carries, as the
 * server counts them (CN and DNS subjectAltNames, each once), and the default only when that is
 * exactly one. Certificates made by `nft-sync pki` and by the openssl CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { certificateIdentities, nameFromCertificate } from '../../../cli/tls-flags.js';
import { initPki, issueCertificate } from '../../../server/auth/pki.js';
import { tempDir } from '../../helpers/git-fixture.js';

test('a pki agent certificate carries one name, which becomes the default --name; two names give none', async (t) => {
  const dir = tempDir(t, 'nft-sync-tlsname-');
  await initPki(dir);
  const { cert } = await issueCertificate(dir, 'web-1');
  assert.deepEqual(certificateIdentities(readFileSync(cert)), ['web-1']);
  assert.equal(nameFromCertificate({ 'tls-cert': cert }), 'web-1');
  const two = join(dir, 'two.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'two.key'), '-out', two, '-days', '1', '-subj', '/CN=web-1', '-addext', 'subjectAltName=DNS:web-1,DNS:web-2'], { stdio: 'ignore' });
  assert.deepEqual(certificateIdentities(readFileSync(two)), ['web-1', 'web-2']);
  assert.equal(nameFromCertificate({ 'tls-cert': two }), undefined);
  assert.equal(nameFromCertificate({}), undefined);
  assert.equal(nameFromCertificate({ 'tls-cert': join(dir, 'missing.crt') }), undefined, 'loadTlsMaterial reports a bad file, with its code');
});
