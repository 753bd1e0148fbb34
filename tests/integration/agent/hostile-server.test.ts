/**
 * What a hostile server can make the agent do (a scripted fake server on loopback, since the
 * real one never misbehaves on purpose; the agent side is the real WireClient and Reconciler).
 * Frames are bounded by what the agent asked for, a header is bounded before it is parsed, and
 * a ruleset made to hurt the parser is refused before nft is ever run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createNftRunner, type NftRunner } from '../../../host/nft-runner.js';
import { Reconciler } from '../../../agent/reconcile/reconciler.js';
import { IDLE_MAX_FRAME, WireClient } from '../../../agent/wire/wire-client.js';
import type { NftSyncError } from '../../../shared/errors.js';
import { gitBlobId } from '../../../shared/git/git-blob-id.js';
import { encodeMessage } from '../../../shared/wire/message-codec.js';
import type { FetchMessage } from '../../../shared/wire/messages.js';
import { startHostileServer, type HostileConnection } from '../../helpers/hostile-server.js';
import { quietLogger } from '../../helpers/server-fixture.js';

const OID = 'c'.repeat(40);

/** Settle `p` within `ms` or fail naming `what` (a bounded wait, not a timed assertion). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** The 4-byte length header of a frame of `length` bytes. */
function lengthHeader(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

/** A ruleset answer to `fetch` carrying `bytes` (with the right blob id unless `blob` is given). */
function rulesetAnswer(fetch: FetchMessage, bytes: Buffer, blob = gitBlobId(bytes)): Buffer {
  return encodeMessage({ type: 'ruleset', id: fetch.id, ref: fetch.ref, ruleset: fetch.ruleset ?? 'default', commit: OID, blob, size: bytes.length }, bytes);
}

async function nextFetch(c: HostileConnection): Promise<FetchMessage> {
  for (;;) {
    const m = await c.next();
    if (m.type === 'fetch') return m;
  }
}

test('(hostile server) a frame over the idle limit, with nothing asked, is refused from its length and the link closed', async (t) => {
  let serverSide: HostileConnection | undefined;
  const s = await startHostileServer(t, async (c) => {
    serverSide = c;
    await c.handshake();
    const ping = await c.next();
    // The ping answered, nothing is outstanding: 1 MiB announced, and only its first bytes follow.
    await c.send(Buffer.concat([encodeMessage({ type: 'pong', id: (ping as { id: number }).id }), lengthHeader(1024 * 1024), Buffer.from('{"type":"pong","id":1')]));
  });
  const client = await WireClient.connect({ host: s.host, port: s.port, agent: 'a' });
  const closed = new Promise<NftSyncError | undefined>((resolve) => client.on('close', resolve));
  await client.ping();
  const err = await within(closed, 10_000, 'client close');
  assert.equal(err?.code, 'NFTSYNC_ERR_FRAME_TOO_LARGE');
  assert.match(err!.message, new RegExp(`limit of ${IDLE_MAX_FRAME} bytes`));
  await within(serverSide!.closed, 10_000, 'server side closed');
});

test('(hostile server) an answer to a fetch bigger than --max-ruleset-bytes is refused unread, whatever the frame or the size field says', async (t) => {
  const s = await startHostileServer(t, async (c) => {
    await c.handshake();
    const f1 = await nextFetch(c);
    if (f1.ref === 'huge-frame') {
      await c.send(Buffer.concat([lengthHeader(512 * 1024 * 1024), Buffer.from('{"type":"ruleset"')]));
    } else {
      // Fits the frame allowance (header room included) but the ruleset is over the limit.
      await c.send(rulesetAnswer(f1, Buffer.alloc(150_000, 0x20)));
    }
  });
  for (const ref of ['huge-frame', 'size-over-limit']) {
    const client = await WireClient.connect({ host: s.host, port: s.port, agent: 'a', maxRulesetBytes: 100_000 });
    t.after(() => client.close());
    const err = await within(
      client.fetch({ ref }).then(
        () => undefined,
        (e: NftSyncError) => e,
      ),
      10_000,
      `fetch ${ref}`,
    );
    assert.equal(err?.code, 'NFTSYNC_ERR_RULESET_TOO_LARGE', `${ref}: ${err?.message}`);
    assert.match(err!.message, /--max-ruleset-bytes/);
  }
});

test('(hostile server) a message header of megabytes is refused before JSON.parse sees it, even while a fetch allows a big frame', async (t) => {
  const s = await startHostileServer(t, async (c) => {
    await c.handshake();
    const f = await nextFetch(c);
    const header = Buffer.from(JSON.stringify({ type: 'pong', id: f.id, pad: 'x'.repeat(4 * 1024 * 1024) }));
    await c.send(Buffer.concat([lengthHeader(header.length), header]));
  });
  const client = await WireClient.connect({ host: s.host, port: s.port, agent: 'a' });
  t.after(() => client.close());
  const err = await within(
    client.fetch({ ref: 'main' }).then(
      () => undefined,
      (e: NftSyncError) => e,
    ),
    10_000,
    'fetch',
  );
  assert.equal(err?.code, 'NFTSYNC_ERR_MSG_MALFORMED');
  assert.match(err!.message, /header is longer than 65536 bytes/);
});

/** The real runner for a command that cannot run, counting every call: any call is a failure. */
function untouchableNft(): NftRunner & { calls: number } {
  const real = createNftRunner('/nonexistent/nft');
  const spy = { ...real, calls: 0 };
  for (const k of ['run', 'applyJson', 'checkJson', 'listTables', 'listTable'] as const) {
    const f = real[k] as (...a: unknown[]) => Promise<unknown>;
    (spy as Record<string, unknown>)[k] = (...a: unknown[]) => (spy.calls++, f(...a));
  }
  return spy;
}

test('(hostile server) rulesets made to hurt the parser (deep nesting, millions of arrays, endless key shapes, a huge string) are refused before nft runs', async (t) => {
  const bodies: Record<string, { bytes: Buffer; code: string }> = {
    deep: { bytes: Buffer.from(`{"nftables":[${'['.repeat(8_000_000)}`), code: 'NFTSYNC_ERR_RULESET_TOO_COMPLEX' },
    arrays: { bytes: Buffer.from(`{"nftables":[{"metainfo":{"x":[${'[],'.repeat(7_000_000)}[]]}}]}`), code: 'NFTSYNC_ERR_RULESET_TOO_COMPLEX' },
    shapes: { bytes: Buffer.from(`{"nftables":[{"metainfo":{"x":[${Array.from({ length: 500_000 }, (_, i) => `{"k${i}":1}`).join(',')}]}}]}`), code: 'NFTSYNC_ERR_RULESET_TOO_COMPLEX' },
    string: { bytes: Buffer.from(`{"nftables":[{"table":{"family":"inet","name":"${'x'.repeat(40_000_000)}"}}]}`), code: 'NFTSYNC_ERR_RULESET_SCHEMA' },
    number: { bytes: Buffer.from('{"nftables":[{"table":{"family":"inet","name":"t","handle":18446744073709551615}}]}'), code: 'NFTSYNC_ERR_RULESET_NUMBER_INEXACT' },
  };
  const s = await startHostileServer(t, async (c) => {
    await c.handshake();
    for (;;) {
      const f = await nextFetch(c);
      await c.send(rulesetAnswer(f, bodies[f.ruleset!]!.bytes));
    }
  });
  const client = await WireClient.connect({ host: s.host, port: s.port, agent: 'a' });
  t.after(() => client.close());
  const nft = untouchableNft();
  for (const [name, { code }] of Object.entries(bodies)) {
    const dir = mkdtempSync(join(tmpdir(), 'nft-sync-state-'));
    (t as TestContext).after(() => rmSync(dir, { recursive: true, force: true }));
    const reconciler = await Reconciler.open({ agent: 'a', ref: 'main', ruleset: name, stateDir: dir, logger: quietLogger, nft });
    const outcome = await within(reconciler.reconcile(client), 60_000, name);
    assert.equal(outcome.kind === 'failed' && outcome.error.code, code, `${name}: ${JSON.stringify(outcome).slice(0, 300)}`);
  }
  assert.equal(nft.calls, 0, 'nft was never run');
  assert.equal(client.closed, false, 'the link survives a refused ruleset');
});
