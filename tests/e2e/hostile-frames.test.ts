/**
 * Frames from clients are bounded by what clients send: a real `nft-sync server` process (so its
 * RSS is its own) under hostile clients that, after a plain hello, announce frames of 40 MiB,
 * 200 MiB and 240 MB and stream nested arrays into them, eight at a time. The server must refuse
 * each at its header, stay up, keep answering a well-behaved agent throughout, and hold no
 * memory once the hostile connections are gone.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { WireClient } from '../../agent/wire/wire-client.js';
import { initRepository } from '../../server/git/init-repository.js';
import { encodeMessage } from '../../shared/wire/message-codec.js';
import { MessageReader } from '../../shared/wire/message-reader.js';
import { SERVER_MESSAGE_TYPES, type ServerMessage } from '../../shared/wire/messages.js';
import { freePort, startCli } from '../helpers/cli-process.js';
import { tempDir } from '../helpers/git-fixture.js';

const hello = encodeMessage({ type: 'hello', versions: [1], agent: 'hostile' });
const BRACKETS = Buffer.alloc(1 << 20, 0x5b); // 1 MiB of '['

/** The resident set of process `pid`, in bytes. */
function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Resolves when `s` can take more, or is closed. */
function drainOrClose(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      s.off('drain', done);
      s.off('close', done);
      resolve();
    };
    s.on('drain', done);
    s.on('close', done);
  });
}

interface Attack {
  /** Resolves once `sendBytes` of the frame are out (or the server closed first). */
  sent: Promise<void>;
  /** Resolves when the connection is closed, with the error codes the server sent. */
  closed: Promise<string[]>;
  destroy(): void;
}

/**
 * Say hello, announce a frame of `claimed` bytes and stream up to `sendBytes` of nested arrays
 * into it, as fast as the server reads, then hold the connection open.
 */
function attack(port: number, claimed: number, sendBytes: number): Attack {
  const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, 1 << 20);
  const codes: string[] = [];
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  s.on('data', (c) => {
    try {
      for (const m of reader.push(c)) if (m.message.type === 'error') codes.push(m.message.code);
    } catch {
      /* not our concern here */
    }
  });
  const closed = new Promise<string[]>((resolve) => s.on('close', () => resolve(codes)));
  const sent = new Promise<void>((resolve) => {
    s.on('close', () => resolve());
    s.on('connect', async () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(claimed);
      s.write(Buffer.concat([hello, header]));
      for (let n = 0; n < sendBytes && !s.destroyed; n += BRACKETS.length) {
        if (!s.write(BRACKETS)) await drainOrClose(s);
      }
      resolve();
    });
  });
  return { sent, closed, destroy: () => s.destroy() };
}

test('frames of 40 MiB, 200 MiB and 240 MB from clients are refused at their header; the server stays up, serves an agent throughout, and its memory comes back', async (t) => {
  const dir = tempDir(t, 'nft-sync-hostile-');
  const repo = join(dir, 'rules.git');
  await initRepository(repo, 'repo-template');
  const port = await freePort();
  const server = startCli(t, ['server', '--repo', repo, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn']);
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 20_000;
    const probe = () =>
      WireClient.connect({ host: '127.0.0.1', port, agent: 'probe' }).then(
        (c) => (c.close(), resolve()),
        (err) => (Date.now() > deadline ? reject(err) : setTimeout(probe, 100)),
      );
    probe();
  });
  const pid = server.child.pid!;
  const agent = await WireClient.connect({ host: '127.0.0.1', port, agent: 'good', requestTimeoutMs: 15_000 });
  t.after(() => agent.close());
  await agent.fetch({ ref: 'main', ruleset: 'default' });
  const before = rss(pid);
  let peak = before;

  // The well-behaved agent fetches without pause for as long as the attacks last.
  let attacking = true;
  let fetches = 0;
  const good = (async () => {
    while (attacking) {
      const r = await agent.fetch({ ref: 'main', ruleset: 'default' });
      assert.equal(r.kind, 'ruleset');
      fetches += 1;
      peak = Math.max(peak, rss(pid));
    }
  })();
  // Awaited below; a failure must not surface earlier as an unhandled rejection.
  good.catch(() => {});

  const rounds: Array<[string, number, number]> = [
    ['a 200 MiB frame of nested arrays', 200 * 1024 * 1024, 200 * 1024 * 1024],
    ['a 40 MiB frame', 40 * 1024 * 1024, 40 * 1024 * 1024],
    ['half of a 240 MB frame', 240_000_000, 120_000_000],
  ];
  for (const [what, claimed, sendBytes] of rounds) {
    const eight = Array.from({ length: 8 }, () => attack(port, claimed, sendBytes));
    t.after(() => eight.forEach((a) => a.destroy()));
    await Promise.all(eight.map((a) => a.sent));
    peak = Math.max(peak, rss(pid));
    for (const a of eight) a.destroy();
    const codes = await Promise.all(eight.map((a) => a.closed));
    for (const c of codes) assert.deepEqual(c, ['NFTSYNC_ERR_FRAME_TOO_LARGE'], what);
  }
  attacking = false;
  await good;
  assert.ok(fetches >= 1, 'the agent was served during the attacks');
  assert.equal(server.child.exitCode, null, 'the server is still running');
  assert.ok((await agent.ping()) >= 0);
  const after = rss(pid);
  t.diagnostic(`server RSS: ${(before / 2 ** 20).toFixed(0)} MiB before, peak ${(peak / 2 ** 20).toFixed(0)} MiB, ${(after / 2 ** 20).toFixed(0)} MiB after; ${fetches} fetches during the attacks`);
  // Nothing hostile was buffered: a generous margin for the allocator and the JIT.
  assert.ok(peak - before < 100 * 2 ** 20, `RSS grew by ${((peak - before) / 2 ** 20).toFixed(0)} MiB during the attacks`);
  assert.ok(after - before < 64 * 2 ** 20, `RSS is ${((after - before) / 2 ** 20).toFixed(0)} MiB above where it started`);
});
