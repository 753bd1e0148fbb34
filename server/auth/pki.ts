/**
 * `nft-sync pki`: a small certificate authority for operators who have none. Keys are EC P-256,
 * made and signed by the `openssl` CLI (argument vectors, no shell). Private keys are written
 * with mode 0600; certificates with 0644.
 */
import { execFile } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { NftSyncError } from '../../shared/errors.js';
import { isAgentName } from '../../shared/ruleset/names.js';
import { SERVER_DEFAULTS } from '../defaults.js';

/** Validity of the CA certificate (about 10 years) and of issued certificates (about 1 year). */
export const PKI_VALIDITY_DAYS = { ca: SERVER_DEFAULTS.pki.caValidityDays, leaf: SERVER_DEFAULTS.pki.leafValidityDays };

function openssl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new NftSyncError('NFTSYNC_ERR_PKI_FAILED', `openssl ${args[0]} failed: ${(stderr || err.message).trim()}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function newKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  await chmod(path, 0o600);
}

/**
 * Make a CA in `dir` (created if missing): `ca.key` (0600) and a self-signed `ca.crt`.
 * Errors: NFTSYNC_ERR_PKI_EXISTS when `dir` already holds a CA (never overwritten),
 * NFTSYNC_ERR_PKI_FAILED when openssl fails.
 */
export async function initPki(dir: string, opts: { commonName?: string } = {}): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, 'ca.key');
  const cert = join(dir, 'ca.crt');
  if ((await exists(key)) || (await exists(cert))) throw new NftSyncError('NFTSYNC_ERR_PKI_EXISTS', `${dir} already holds a CA (ca.key or ca.crt); nothing was overwritten: issue certificates from it, or give another --dir`);
  await newKey(key);
  await openssl([
    'req', '-x509', '-new', '-key', key, '-out', cert, '-days', String(PKI_VALIDITY_DAYS.ca), '-sha256',
    '-subj', `/CN=${opts.commonName ?? 'nft-sync CA'}`,
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await chmod(cert, 0o644);
  return { cert, key };
}

/**
 * Issue `NAME.crt` and `NAME.key` (0600) in `dir`, signed by its CA. A server certificate
 * (`server: true`) names a host name or IP address in subjectAltName (DNS or IP) and allows
 * serverAuth; an agent certificate has CN=NAME and DNS:NAME and allows clientAuth.
 * Errors: NFTSYNC_ERR_USAGE for a name that is neither an agent/host name nor an IP address;
 * NFTSYNC_ERR_CONFIG_INVALID when the CA is missing; NFTSYNC_ERR_PKI_EXISTS when NAME.key or
 * NAME.crt exists; NFTSYNC_ERR_PKI_FAILED when openssl fails.
 */
export async function issueCertificate(dir: string, name: string, opts: { server?: boolean } = {}): Promise<{ cert: string; key: string }> {
  const ip = isIP(name) !== 0;
  // The name becomes a file name and goes into openssl's -subj and -addext: only plain names.
  if (!ip && !isAgentName(name)) throw new NftSyncError('NFTSYNC_ERR_USAGE', `pki issue: --name ${JSON.stringify(name)} must be a host/agent name (letters, digits, '.', '_', '-') or an IP address`);
  if (ip && !opts.server) throw new NftSyncError('NFTSYNC_ERR_USAGE', 'pki issue: an agent certificate needs a name, not an IP address');
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  if (!(await exists(caKey)) || !(await exists(caCert))) throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `${dir} holds no CA; run nft-sync pki init --dir ${dir} first`);
  const fileBase = name.replaceAll(':', '_');
  const key = join(dir, `${fileBase}.key`);
  const cert = join(dir, `${fileBase}.crt`);
  if ((await exists(key)) || (await exists(cert))) throw new NftSyncError('NFTSYNC_ERR_PKI_EXISTS', `${cert} or ${key} already exists; nothing was overwritten: use that certificate, or remove both files to issue a new one`);
  const work = await mkdtemp(join(dir, '.issue-'));
  try {
    const csr = join(work, 'req.csr');
    const ext = join(work, 'ext.cnf');
    await newKey(key);
    const san = ip ? `IP:${name}` : `DNS:${name}`;
    const usage = opts.server ? 'serverAuth' : 'clientAuth';
    await writeFile(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=${usage}\nsubjectAltName=${san}\n`);
    await openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${name}`]);
    await openssl([
      'x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-CAserial', join(dir, 'ca.srl'),
      '-out', cert, '-days', String(PKI_VALIDITY_DAYS.leaf), '-sha256', '-extfile', ext,
    ]);
    await chmod(cert, 0o644);
    return { cert, key };
  } catch (err) {
    await rm(key, { force: true });
    await rm(cert, { force: true });
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
