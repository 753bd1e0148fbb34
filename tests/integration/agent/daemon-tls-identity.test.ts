/**
 * A TLS identity mismatch (an agent --name its certificate does not carry) is a mistake a person
 * must fix: the daemon says so, as what it is, and does not retry it as a failure that may pass
 * (the next attempt is at the longest backoff, not the next short one). Real TLS server and
 * certificates from `nft-sync pki`; nft never runs (no state, no drift watch).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { runAgentDaemon } from '../../../agent/agent-daemon.js';
import type { NftRunner } from '../../../host/nft-runner.js';
import { clientTlsOptions, serverTlsOptions } from '../../../cli/tls-flags.js';
import { initPki, issueCertificate } from '../../../server/auth/pki.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { startServerFixture } from '../../helpers/server-fixture.js';

// Closing the runner (the daemon's last act: NftRunner.close) runs no nft; anything else must not be called.
const unusedNft = new Proxy({}, { get: (_t, key) => (key === 'close' ? async () => {} : () => assert.fail('nft must not run')) }) as unknown as NftRunner;

test('daemon: a TLS identity mismatch is reported as one and retried only at the backoff cap', async (t) => {
  const dir = tempDir(t, 'nft-sync-ident-');
  const ca = join(dir, 'ca');
  await initPki(ca);
  await issueCertificate(ca, '127.0.0.1', { server: true });
  await issueCertificate(ca, 'web-1');
  const pem = (n: string) => readFileSync(join(ca, n));
  const fx = await startServerFixture(t, { tls: serverTlsOptions({ ca: pem('ca.crt'), cert: pem('127.0.0.1.crt'), key: pem('127.0.0.1.key') }) });
  const lines: Array<Record<string, unknown>> = [];
  let wake: (() => void) | undefined;
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      wake?.();
      cb();
    },
  });
  const ac = new AbortController();
  const capMs = 45_000;
  const done = runAgentDaemon(
    {
      host: '127.0.0.1',
      port: fx.port,
      agent: 'web-2',
      tls: clientTlsOptions({ ca: pem('ca.crt'), cert: pem('web-1.crt'), key: pem('web-1.key') }, '127.0.0.1'),
      ref: 'main',
      nft: unusedNft,
      stateDir: join(dir, 'state'),
      logger: pino({ level: 'info' }, sink),
      watchDrift: false,
      backoff: { baseMs: 10, capMs },
    },
    ac.signal,
  );
  t.after(async () => {
    ac.abort();
    await done;
  });
  const refusal = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no refusal logged: ${JSON.stringify(lines)}`)), 10_000);
    const check = () => {
      const l = lines.find((x) => (x.err as { code?: string } | undefined)?.code === 'NFTSYNC_ERR_TLS_IDENTITY');
      if (l) (clearTimeout(timer), resolve(l));
    };
    wake = check;
    check();
  });
  assert.equal(refusal.level, 50, 'logged as an error');
  assert.match(String(refusal.msg), /^the server refused this agent's TLS identity \(--name must be a name its certificate carries\); ruleset in force stays$/);
  assert.doesNotMatch(String(refusal.msg), /unreachable/);
  assert.equal(refusal.retryInMs, capMs, 'the next attempt waits the longest backoff');
  assert.match(String((refusal.err as { message: string }).message), /hello says agent "web-2" but the client certificate is for "web-1"/);
  assert.equal(lines.filter((x) => /unreachable/.test(String(x.msg))).length, 0);
});
