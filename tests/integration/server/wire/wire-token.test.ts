/**
 * With --read-token-required the wire protocol needs a token too: a plain-TCP client gives one
 * from the server's --token-file in hello, else gets a fatal NFTSYNC_ERR_AUTH_REQUIRED; under
 * mutual TLS the certificate is enough. The token never reaches the server's log.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { clientTlsOptions, serverTlsOptions } from '../../../../cli/tls-flags.js';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { testPki } from '../../../helpers/pki-fixture.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';

const TOKEN = 'wire-token-0123456789abcdef';
const tokens = parseTokenList(`${TOKEN} ci-bot\n`);

function logSink(): { logger: pino.Logger; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _e, done) {
      text += String(chunk);
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => text };
}

test('plain TCP with --read-token-required: no token or a wrong one gets AUTH_REQUIRED; the right one is served and never logged', async (t) => {
  const log = logSink();
  const f = await startServerFixture(t, { tokens, readTokenRequired: true, logger: log.logger });
  const connect = (token?: string) => WireClient.connect({ host: f.host, port: f.port, agent: 'web-1', token });
  await assert.rejects(connect(), { code: 'NFTSYNC_ERR_AUTH_REQUIRED' });
  await assert.rejects(connect('wrong-token-0123456789abcdef'), { code: 'NFTSYNC_ERR_AUTH_REQUIRED' });
  await assert.rejects(connect('x'), { code: 'NFTSYNC_ERR_AUTH_REQUIRED' });
  const c = await connect(TOKEN);
  t.after(() => c.close());
  assert.equal((await c.fetch({ ref: 'main' })).kind, 'ruleset');
  await c.report({ agent: 'web-1', ref: 'main', state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] });
  assert.match(log.text(), /ci-bot/, 'the token\'s owner is logged');
  assert.doesNotMatch(log.text(), new RegExp(TOKEN), 'the token is not');
  assert.doesNotMatch(log.text(), /wrong-token/);
});

test('without --read-token-required the wire protocol needs no token', async (t) => {
  const f = await startServerFixture(t, { tokens });
  const c = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => c.close());
  assert.equal((await c.fetch({ ref: 'main' })).kind, 'ruleset');
});

test('mutual TLS with --read-token-required: the certificate is enough', async (t) => {
  const pki = await testPki(t, ['web-1']);
  const f = await startServerFixture(t, { tokens, readTokenRequired: true, tls: serverTlsOptions(pki.material('127.0.0.1')) });
  const c = await WireClient.connect({ host: '127.0.0.1', port: f.port, agent: 'web-1', tls: clientTlsOptions(pki.material('web-1'), '127.0.0.1') });
  t.after(() => c.close());
  assert.equal((await c.fetch({ ref: 'main' })).kind, 'ruleset');
});
