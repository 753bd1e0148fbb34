/**
 * The wire protocol server against a real git repository, through real TCP sockets on loopback:
 * fetch by branch, tag and commit, subscriptions, and hostile or broken clients that must not
 * disturb anyone else.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { encodeFrame } from '../../../../shared/wire/frame-decoder.js';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { CLIENT_MAX_FRAME, HELLO_MAX_FRAME, SERVER_MESSAGE_TYPES, type ServerMessage } from '../../../../shared/wire/messages.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import { waitForEvent } from '../../../helpers/wait-for.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json');

async function client(f: ServerFixture, agent = 'test-agent'): Promise<WireClient> {
  return WireClient.connect({ host: f.host, port: f.port, agent });
}

/**
 * Open a raw socket, write `bytes`, collect every server message until the server closes (or
 * `timeoutMs` passed). With `expected`, the socket is left as soon as that many messages arrived
 * (`closed` false): for a session the server keeps open, instead of waiting a guessed time.
 */
function rawExchange(f: ServerFixture, bytes: Buffer[], timeoutMs = 4000, expected?: number): Promise<{ messages: ServerMessage[]; closed: boolean }> {
  return new Promise((resolve) => {
    const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
    const messages: ServerMessage[] = [];
    const s = net.connect({ host: f.host, port: f.port }, () => {
      for (const b of bytes) s.write(b);
    });
    const leave = () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ messages, closed: false });
    };
    const timer = setTimeout(leave, timeoutMs);
    s.on('data', (c) => {
      messages.push(...reader.push(c).map((m) => m.message));
      if (expected !== undefined && messages.length >= expected) leave();
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ messages, closed: true });
    });
  });
}

const hello = encodeMessage({ type: 'hello', versions: [1], agent: 'raw' });

describe('wire server', () => {
  test('fetch by branch, tag, full and abbreviated commit returns the stored bytes and their blob id', async (t) => {
    const f = await startServerFixture(t);
    const head = f.git(['rev-parse', 'HEAD']);
    f.git(['tag', '-a', 'v1.0.0', '-m', 'release']);
    f.git(['push', '-q', 'origin', 'v1.0.0']);
    const c = await client(f);
    t.after(() => c.close());
    for (const ref of ['main', 'v1.0.0', head, head.slice(0, 7), 'refs/heads/main']) {
      const r = await c.fetch({ ref, ruleset: 'default' });
      assert.equal(r.kind, 'ruleset', ref);
      if (r.kind !== 'ruleset') continue;
      assert.equal(r.commit, head, ref);
      assert.deepEqual(r.bytes, DEFAULT, ref);
      assert.equal(r.blob, gitBlobId(DEFAULT), ref);
    }
  });

  test('fetch with what the agent has answers unchanged; without a ruleset the server picks default', async (t) => {
    const f = await startServerFixture(t);
    const c = await client(f);
    t.after(() => c.close());
    const first = await c.fetch({ ref: 'main' });
    assert.equal(first.ruleset, 'default');
    const again = await c.fetch({ ref: 'main', have: { commit: first.commit, blob: first.blob } });
    assert.equal(again.kind, 'unchanged');
    // Another file changes: new commit, same blob, still unchanged.
    const next = f.push({ 'notes.txt': 'x\n' });
    const third = await c.fetch({ ref: 'main', have: { commit: first.commit, blob: first.blob } });
    assert.deepEqual([third.kind, third.commit], ['unchanged', next]);
  });

  test('request errors carry stable codes and leave the connection usable', async (t) => {
    const f = await startServerFixture(t);
    const c = await client(f);
    t.after(() => c.close());
    const cases: Array<[{ ref: string; ruleset?: string }, string]> = [
      [{ ref: 'no-such-branch' }, 'NFTSYNC_ERR_REF_NOT_FOUND'],
      [{ ref: '0123456789abcdef0123456789abcdef01234567' }, 'NFTSYNC_ERR_REF_NOT_FOUND'],
      [{ ref: '../../etc/passwd' }, 'NFTSYNC_ERR_REF_INVALID'],
      [{ ref: 'main', ruleset: 'missing' }, 'NFTSYNC_ERR_RULESET_NOT_FOUND'],
    ];
    for (const [req, code] of cases) {
      await assert.rejects(c.fetch(req), { code }, JSON.stringify(req));
    }
    assert.ok((await c.ping()) >= 0);
    assert.equal(c.closed, false);
  });

  test('a subscriber is told when a push moves its ref, by the ref watcher\'s file events (its poll off)', async (t) => {
    // The poll off: only the file events can tell the server of the push. (With the default 1 s
    // poll, no bound could tell them apart: the push below blocks this process, the server's
    // included, so the overdue poll would fire the moment it returns.)
    const f = await startServerFixture(t, { refWatch: { pollMs: 0 } });
    const c = await client(f);
    t.after(() => c.close());
    await c.subscribe('main');
    const id = f.push({ 'notes.txt': 'moved\n' });
    // From the push's return: git's own commit and push (synchronous here: nothing reaches this
    // process's event loop meanwhile, the 'moved' either) are not the notice.
    const t0 = performance.now();
    const [ref, commit] = await waitForEvent<[string, string]>(c, 'moved', () => true, { timeoutMs: 5000, what: "'moved' after the push" });
    const ms = performance.now() - t0;
    t.diagnostic(`told ${ms.toFixed(1)} ms after git push returned`);
    assert.deepEqual([ref, commit], ['main', id]);
  });

  const hostile: Array<[string, Buffer[], string]> = [
    ['garbage bytes', [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], 'NFTSYNC_ERR_FRAME_TOO_LARGE'],
    ['a length header claiming 4 GiB', [Buffer.from([0xff, 0xff, 0xff, 0xff])], 'NFTSYNC_ERR_FRAME_TOO_LARGE'],
    ['a frame that is not JSON', [Buffer.from([0, 0, 0, 3, 0x61, 0x62, 0x63])], 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['an empty frame', [Buffer.from([0, 0, 0, 0])], 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['fetch before hello', [encodeMessage({ type: 'fetch', id: 1, ref: 'main' })], 'NFTSYNC_ERR_MSG_UNEXPECTED'],
    ['hello twice', [hello, hello], 'NFTSYNC_ERR_MSG_UNEXPECTED'],
    ['no common version', [encodeMessage({ type: 'hello', versions: [99] })], 'NFTSYNC_ERR_PROTO_VERSION'],
    ['an invalid field after the handshake', [hello, encodeFrame(Buffer.from('{"type":"ping","id":"x","a":1}'))], 'NFTSYNC_ERR_MSG_INVALID'],
    ['a server message from a client', [hello, encodeMessage({ type: 'pong', id: 1 })], 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['a frame at the 64 KiB limit of nested arrays as its type', [hello, encodeFrame(Buffer.from(`{"type":${'['.repeat(32_000)}${']'.repeat(32_000)}}`))], 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['a report from a connection whose hello named no agent', [encodeMessage({ type: 'hello', versions: [1] }), encodeMessage({ type: 'report', id: 1, status: { agent: 'x', ref: 'main', state: 'Unknown', conditions: [] } })], 'NFTSYNC_ERR_MSG_UNEXPECTED'],
  ];
  for (const [name, bytes, code] of hostile) {
    test(`${name}: error frame ${code}, that connection closed, others served`, async (t) => {
      const f = await startServerFixture(t);
      const good = await client(f, 'bystander');
      t.after(() => good.close());
      const { messages, closed } = await rawExchange(f, bytes);
      const err = messages.find((m) => m.type === 'error');
      assert.ok(err && err.type === 'error', `got ${JSON.stringify(messages)}`);
      assert.equal(err.code, code);
      assert.equal(err.fatal, true);
      assert.equal(closed, true);
      const r = await good.fetch({ ref: 'main', ruleset: 'default' });
      assert.equal(r.kind, 'ruleset');
      const late = await client(f, 'newcomer');
      assert.ok((await late.ping()) >= 0);
      late.close();
    });
  }

  test('a frame split byte by byte and frames merged in one write both work', async (t) => {
    const f = await startServerFixture(t);
    const bytes = Buffer.concat([hello, encodeMessage({ type: 'ping', id: 1 }), encodeMessage({ type: 'ping', id: 2 })]);
    const split = [...bytes].map((b) => Buffer.from([b]));
    const { messages } = await rawExchange(f, split, 5000, 3);
    assert.deepEqual(messages.map((m) => m.type), ['welcome', 'pong', 'pong']);
  });

  test('client frames are limited to 4 KiB before hello and 64 KiB after it, announced in welcome', async (t) => {
    const f = await startServerFixture(t);
    const c = await client(f);
    t.after(() => c.close());
    assert.equal(c.welcome.maxFrame, CLIENT_MAX_FRAME);
    // A frame at the limit passes after the handshake; one byte more does not.
    const head = '{"type":"ping","id":1}';
    const ok = Buffer.concat([hello, encodeFrame(Buffer.from(head + ' '.repeat(CLIENT_MAX_FRAME - head.length)))]);
    assert.deepEqual((await rawExchange(f, [ok], 5000, 2)).messages.map((m) => m.type), ['welcome', 'pong']);
    const big = Buffer.concat([hello, encodeFrame(Buffer.alloc(CLIENT_MAX_FRAME + 1, 0x20))]);
    const { messages } = await rawExchange(f, [big]);
    assert.equal(messages[1]?.type === 'error' && messages[1].code, 'NFTSYNC_ERR_FRAME_TOO_LARGE');
    const early = await rawExchange(f, [encodeFrame(Buffer.alloc(HELLO_MAX_FRAME + 1, 0x20))]);
    assert.equal(early.messages[0]?.type === 'error' && early.messages[0].code, 'NFTSYNC_ERR_FRAME_TOO_LARGE');
  });

  test('a ruleset answer over the server\'s --max-frame is a request error, the connection stays', async (t) => {
    const f = await startServerFixture(t, { wire: { limits: { maxAnswerFrame: DEFAULT.length + 100 } } });
    const c = await client(f);
    t.after(() => c.close());
    await assert.rejects(c.fetch({ ref: 'main', ruleset: 'default' }), { code: 'NFTSYNC_ERR_FRAME_TOO_LARGE' });
    assert.ok((await c.ping()) >= 0);
  });

  test('a client that never says hello is timed out', async (t) => {
    const f = await startServerFixture(t, { wire: { limits: { handshakeTimeoutMs: 200 } } });
    const t0 = Date.now();
    const { messages, closed } = await rawExchange(f, [], 3000);
    assert.equal(closed, true);
    assert.equal(messages[0]?.type === 'error' && messages[0].code, 'NFTSYNC_ERR_PROTO_TIMEOUT');
    assert.ok(Date.now() - t0 < 2000);
  });

  test('connections per address are capped', async (t) => {
    const f = await startServerFixture(t, { wire: { maxConnectionsPerAddress: 2 } });
    const a = await client(f, 'a');
    const b = await client(f, 'b');
    t.after(() => {
      a.close();
      b.close();
    });
    await assert.rejects(client(f, 'c'), { code: 'NFTSYNC_ERR_SERVER_BUSY' });
  });

  test('serves two hundred agents at once', async (t) => {
    // Two hundred agents from one address: above the default per-address cap, as behind a big NAT.
    const f = await startServerFixture(t, { wire: { maxConnectionsPerAddress: 256 } });
    const clients = await Promise.all(Array.from({ length: 200 }, (_, i) => client(f, `agent-${i}`)));
    t.after(() => clients.forEach((c) => c.close()));
    await Promise.all(clients.map((c) => c.subscribe('main')));
    const results = await Promise.all(clients.map((c) => c.fetch({ ref: 'main', ruleset: 'default' })));
    assert.ok(results.every((r) => r.kind === 'ruleset' && r.blob === gitBlobId(DEFAULT)));
    const moved = Promise.all(clients.map((c) => new Promise((resolve) => c.once('moved', resolve))));
    f.push({ 'notes.txt': 'fan-out\n' });
    await moved;
  });
});
