import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectError } from '../../../agent/tls-connect-error.js';

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
