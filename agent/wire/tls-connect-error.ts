/**
 * Naming TLS failures on the agent's side, so an operator sees which end refused what: the
 * server refused our certificate (an alert), or we refused the server's (wrong CA, wrong name).
 */
import { NftSyncError } from '../../shared/errors.js';

/**
 * OpenSSL's words for a peer that answered a ClientHello with something that is not TLS: the
 * plain-TCP server's error frame (its length prefix is read as a TLS record header).
 */
const NOT_TLS = /^ERR_SSL_(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|UNKNOWN_PROTOCOL|RECORD_LAYER_FAILURE)$/;

/** Node/OpenSSL codes of a server certificate the client does not trust. */
const UNTRUSTED = /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_TLS_CERT)/;

/**
 * The error for a connection that failed before welcome. `secured`: whether the TLS handshake
 * had completed on our side (under TLS 1.3 the server may refuse our certificate only after).
 * Returns NFTSYNC_ERR_TLS_SERVER_UNTRUSTED, NFTSYNC_ERR_TLS_REJECTED or NFTSYNC_ERR_CONN_FAILED (with a
 * hint when TLS meets a plain server, or plain TCP a TLS server).
 */
export function connectError(where: string, err: (Error & { code?: string }) | undefined, opts: { tls: boolean; secured: boolean }): NftSyncError {
  const code = err?.code ?? '';
  if (opts.tls && err && NOT_TLS.test(code)) {
    // The reverse of the hint below: one line instead of OpenSSL's record-layer text.
    return new NftSyncError('NFTSYNC_ERR_CONN_FAILED', `${where} does not speak TLS (a plain-TCP server? drop --tls-ca, --tls-cert and --tls-key, or use the server's TLS port)`, {
      cause: err,
      data: { tlsCode: code },
    });
  }
  if (opts.tls && err && UNTRUSTED.test(code)) {
    return new NftSyncError('NFTSYNC_ERR_TLS_SERVER_UNTRUSTED', `server ${where} presented a certificate we do not trust: ${err.message} (${code})`, { cause: err });
  }
  if (opts.tls && err && (code.startsWith('ERR_SSL_') || /alert/i.test(err.message))) {
    return new NftSyncError('NFTSYNC_ERR_TLS_REJECTED', `TLS with ${where} failed: ${err.message}`, { cause: err, data: { tlsCode: code } });
  }
  if (opts.tls && opts.secured) {
    return new NftSyncError('NFTSYNC_ERR_TLS_REJECTED', `${where} closed the TLS connection before welcome${err ? `: ${err.message}` : ''} (client certificate refused?)`, { cause: err });
  }
  if (!err) return new NftSyncError('NFTSYNC_ERR_CONN_FAILED', `${where} closed the connection during the handshake (a TLS server? give --tls-ca, --tls-cert and --tls-key)`);
  return new NftSyncError('NFTSYNC_ERR_CONN_FAILED', `cannot reach ${where}: ${err.message}`, { cause: err });
}
