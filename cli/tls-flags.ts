/**
 * The TLS flags shared by server, agent, pull and fetch, and the Node TLS options built from
 * them. Files are read once, at start; unreadable or invalid ones stop the command.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { NftSyncError } from '../shared/errors.js';
import { str } from './command.js';
import type { Flags, ParsedFlags } from './parse-command-line.js';

export const TLS_FLAGS: Flags = {
  'tls-ca': { type: 'string', description: 'PEM file of the CA that signs the peer\'s certificate (mutual TLS)' },
  'tls-cert': { type: 'string', description: 'PEM file of this side\'s certificate' },
  'tls-key': { type: 'string', description: 'PEM file of this side\'s private key' },
};

/** The PEM material of the TLS flags. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * Read the three files when any TLS flag is given (all three are then required); undefined when
 * none is. Errors: NFTSYNC_ERR_USAGE (some flags missing), NFTSYNC_ERR_CONFIG_INVALID (a file
 * unreadable, or not a usable certificate/key pair).
 */
export function loadTlsMaterial(values: ParsedFlags): TlsMaterial | undefined {
  const paths = { ca: str(values, 'tls-ca'), cert: str(values, 'tls-cert'), key: str(values, 'tls-key') };
  const given = Object.values(paths).filter((p) => p !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new NftSyncError('NFTSYNC_ERR_USAGE', '--tls-ca, --tls-cert and --tls-key go together: give all three');
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `--${flag} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const material = { ca: read('tls-ca', paths.ca!), cert: read('tls-cert', paths.cert!), key: read('tls-key', paths.key!) };
  try {
    // createSecureContext alone ignores a CA file without any certificate in it.
    new X509Certificate(material.ca);
    const cert = new X509Certificate(material.cert);
    if (!cert.checkPrivateKey(createPrivateKey(material.key))) throw new Error('the key does not belong to the certificate');
    tls.createSecureContext(material);
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `TLS files ${paths.ca}, ${paths.cert}, ${paths.key} are not a usable CA, certificate and key: ${(err as Error).message}`, { cause: err });
  }
  return material;
}

/** Server options: a client certificate signed by the CA is required; TLS 1.2 at least. */
export function serverTlsOptions(m: TlsMaterial): tls.TlsOptions {
  return { ca: m.ca, cert: m.cert, key: m.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
}

/**
 * Client options: the server certificate must chain to the CA and name `host` (a DNS or IP
 * subjectAltName). SNI is sent only for host names (RFC 6066 forbids IP addresses there).
 */
export function clientTlsOptions(m: TlsMaterial, host: string): tls.ConnectionOptions {
  const opts: tls.ConnectionOptions = { ca: m.ca, cert: m.cert, key: m.key, minVersion: 'TLSv1.2', rejectUnauthorized: true };
  if (isIP(host) === 0) opts.servername = host;
  return opts;
}

/**
 * The names a certificate gives its holder, as the server checks them against hello
 * (server/auth/peer-identity.ts): its CN and its DNS subjectAltNames, without repeats.
 */
export function certificateIdentities(pem: Buffer): string[] {
  const cert = new X509Certificate(pem);
  const names = new Set<string>();
  for (const line of cert.subject.split('\n')) {
    const m = /^CN=(.+)$/.exec(line.trim());
    if (m) names.add(m[1]!);
  }
  for (const part of (cert.subjectAltName ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(part);
    if (m) names.add(m[1]!.trim());
  }
  return [...names];
}

/**
 * The agent name `--tls-cert` gives when `--name` is not given: the certificate's identity when
 * it carries exactly one (`nft-sync pki issue` makes such certificates), else undefined. A file
 * that cannot be read or parsed gives undefined too: loadTlsMaterial reports it with its code.
 */
export function nameFromCertificate(values: ParsedFlags): string | undefined {
  const path = str(values, 'tls-cert');
  if (path === undefined) return undefined;
  try {
    const names = certificateIdentities(readFileSync(path));
    return names.length === 1 ? names[0] : undefined;
  } catch {
    return undefined;
  }
}
