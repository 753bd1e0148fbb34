/**
 * Who is on the other end of a TLS connection, and what it may fetch. The TLS layer has already
 * checked the client certificate against the CA (requestCert + rejectUnauthorized); here the
 * certificate's names are matched with the agent name the client claims in hello, and fetches
 * are limited to the ruleset nft-sync.yaml on the default branch gives that agent.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { NftSyncError } from '../../shared/errors.js';
import type { RulesetSource } from '../git/ruleset-source.js';

/** True when `socket` is a TLS connection (so identity and authorization apply). */
export function isTlsSocket(socket: Socket): socket is TLSSocket {
  return socket instanceof TLSSocket;
}

/** The names a verified client certificate gives: its CN and its DNS subjectAltNames. */
export function certificateNames(socket: TLSSocket): string[] {
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return [];
  const names = new Set<string>();
  const cn = cert.subject?.CN;
  for (const n of Array.isArray(cn) ? cn : cn ? [cn] : []) names.add(n);
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(part);
    if (m) names.add(m[1]!.trim());
  }
  return [...names];
}

/**
 * Check the hello's agent name against the client certificate. Returns undefined when they
 * match; otherwise an NFTSYNC_ERR_TLS_IDENTITY error (no name given, no verified certificate,
 * or a name the certificate does not carry), which the session sends as a fatal frame.
 */
export function checkPeerIdentity(socket: TLSSocket, agent: string | undefined): NftSyncError | undefined {
  if (!socket.authorized) {
    return new NftSyncError('NFTSYNC_ERR_TLS_IDENTITY', `client certificate not verified: ${String(socket.authorizationError ?? 'none given')}`);
  }
  const names = certificateNames(socket);
  if (agent === undefined) {
    return new NftSyncError('NFTSYNC_ERR_TLS_IDENTITY', `under TLS the client must give its agent name (--name), one its certificate carries: ${names.join(', ') || 'none'}`);
  }
  if (!names.includes(agent)) {
    return new NftSyncError('NFTSYNC_ERR_TLS_IDENTITY', `hello says agent ${JSON.stringify(agent)} but the client certificate is for ${names.map((n) => JSON.stringify(n)).join(', ') || 'no name'}`, {
      data: { agent, certificate: names },
    });
  }
  return undefined;
}

/**
 * Authorization of a fetch under TLS. The ruleset an agent MAY fetch is the one nft-sync.yaml
 * gives it at the tip of the default branch (HEAD's branch), whatever ref it asks for: the
 * mapping in force is the newest one, so an old ref whose older nft-sync.yaml gave the agent more
 * grants nothing more. The ruleset it gets is the one it names, which must be the permitted one;
 * naming none, it gets the permitted one, except with `proof` (a signed agent checks the
 * choice against nft-sync.yaml at the signed `commit` itself): then the commit's own mapping
 * must give the permitted ruleset, else the fetch is denied here with a message that says why,
 * rather than refused by the agent as a forged answer. Resolves with the ruleset to serve.
 * Errors: NFTSYNC_ERR_ACCESS_DENIED; NFTSYNC_ERR_REF_NOT_FOUND when the default branch does not
 * exist; the source's (REPO_CONFIG_INVALID...).
 */
export async function allowedRuleset(source: Pick<RulesetSource, 'resolveRef' | 'rulesetForAgent'>, agent: string, commit: string, asked: string | undefined, proof = false): Promise<string> {
  const head = await source.resolveRef('HEAD').catch((err: unknown) => {
    if (err instanceof NftSyncError && err.code === 'NFTSYNC_ERR_REF_NOT_FOUND') {
      throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', 'the default branch (HEAD) does not exist: under TLS its nft-sync.yaml decides which ruleset each agent may fetch; push it first', { cause: err });
    }
    throw err;
  });
  const allowed = await source.rulesetForAgent(head, agent);
  const chosen = asked ?? (proof && commit !== head ? await source.rulesetForAgent(commit, agent) : allowed);
  if (chosen !== allowed) {
    const why = asked !== undefined ? `not ${asked}` : `not ${chosen}, which the signed nft-sync.yaml at ${commit.slice(0, 12)} gives it: publish a release whose nft-sync.yaml agrees`;
    throw new NftSyncError('NFTSYNC_ERR_ACCESS_DENIED', `agent ${agent} may fetch only ruleset ${allowed} (nft-sync.yaml on the default branch, at ${head.slice(0, 12)}), ${why}`, {
      data: { agent, allowed, asked: chosen },
    });
  }
  return allowed;
}
