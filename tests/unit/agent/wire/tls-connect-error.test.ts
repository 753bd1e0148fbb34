import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectError } from '../../../../agent/wire/tls-connect-error.js';

const err = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

test('connectError names which side refused the TLS handshake', () => {
  const where = '198.18.0.1:7000';
  const tls = { tls: true, secured: false };
  assert.equal(connectError(where, err('Hostname/IP does not match', 'ERR_TLS_CERT_ALTNAME_INVALID'), tls).code, 'NFTSYNC_ERR_TLS_SERVER_UNTRUSTED');
  assert.equal(connectError(where, err('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), tls).code, 'NFTSYNC_ERR_TLS_SERVER_UNTRUSTED');
  assert.equal(connectError(where, err('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), tls).code, 'NFTSYNC_ERR_TLS_SERVER_UNTRUSTED');
  const alert = connectError(where, err('tlsv13 alert certificate required', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), { tls: true, secured: true });
  assert.equal(alert.code, 'NFTSYNC_ERR_TLS_REJECTED');
  assert.match(alert.message, /certificate required/);
  assert.equal(connectError(where, err('unknown ca', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), tls).code, 'NFTSYNC_ERR_TLS_REJECTED');
  // TLS 1.3: the handshake completed on our side, then the server closed before welcome.
  assert.equal(connectError(where, undefined, { tls: true, secured: true }).code, 'NFTSYNC_ERR_TLS_REJECTED');
  assert.equal(connectError(where, err('read ECONNRESET', 'ECONNRESET'), { tls: true, secured: true }).code, 'NFTSYNC_ERR_TLS_REJECTED');
  // Before any TLS, and without TLS: plain connection failures.
  assert.equal(connectError(where, err('connect ECONNREFUSED', 'ECONNREFUSED'), tls).code, 'NFTSYNC_ERR_CONN_FAILED');
  assert.equal(connectError(where, err('connect ECONNREFUSED', 'ECONNREFUSED'), { tls: false, secured: true }).code, 'NFTSYNC_ERR_CONN_FAILED');
  assert.equal(connectError(where, undefined, { tls: false, secured: true }).code, 'NFTSYNC_ERR_CONN_FAILED');
});

test('TLS against a plain-TCP port: one line that says so, not OpenSSL\'s record-layer text', () => {
  const where = '127.0.0.1:7000';
  const openssl = '805C46FD887F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:';
  const e = connectError(where, err(openssl, 'ERR_SSL_WRONG_VERSION_NUMBER'), { tls: true, secured: false });
  assert.equal(e.code, 'NFTSYNC_ERR_CONN_FAILED');
  assert.equal(e.message, "127.0.0.1:7000 does not speak TLS (a plain-TCP server? drop --tls-ca, --tls-cert and --tls-key, or use the server's TLS port)");
  assert.doesNotMatch(e.message, /ssl3_get_record|\n/);
  assert.equal(connectError(where, err('packet length too long', 'ERR_SSL_PACKET_LENGTH_TOO_LONG'), { tls: true, secured: false }).code, 'NFTSYNC_ERR_CONN_FAILED');
});
