/**
 * A man in the middle (a scripted fake peer over real sockets): it listens on loopback, relays
 * each connection to a real nft-sync server over plain TCP, and lets a test rewrite any message
 * on the way, in either direction, re-framing it as a real peer would. Only what cannot run here
 * is faked: an attacker on the path between an agent and its server.
 */
import net from 'node:net';
import type { TestContext } from 'node:test';
import { encodeFrame, FrameDecoder } from '../../shared/wire/frame-decoder.js';

/** A decoded frame: its JSON header and, for messages with one, its body. */
export interface Intercepted {
  message: Record<string, unknown>;
  body?: Buffer;
}

export interface MitmScript {
  /** Rewrite a message from the agent (in place or by returning another). */
  toServer?: (m: Intercepted) => Intercepted | void;
  /** Rewrite a message from the server (in place or by returning another). */
  toAgent?: (m: Intercepted) => Intercepted | void;
}

function decode(payload: Buffer): Intercepted {
  const nul = payload.indexOf(0);
  if (nul === -1) return { message: JSON.parse(payload.toString('utf8')) as Record<string, unknown> };
  return { message: JSON.parse(payload.subarray(0, nul).toString('utf8')) as Record<string, unknown>, body: payload.subarray(nul + 1) };
}

function encode(m: Intercepted): Buffer {
  const header = Buffer.from(JSON.stringify(m.message), 'utf8');
  return encodeFrame(m.body === undefined ? header : Buffer.concat([header, Buffer.from([0]), m.body]));
}

function relay(from: net.Socket, to: net.Socket, rewrite: MitmScript['toServer']): void {
  const frames = new FrameDecoder(1 << 30);
  from.on('data', (chunk: Buffer) => {
    for (const payload of frames.push(chunk)) {
      const m = decode(payload);
      to.write(encode(rewrite?.(m) ?? m));
    }
  });
  from.on('close', () => to.destroy());
  from.on('error', () => to.destroy());
}

/**
 * Start the proxy in front of `target` with `script`; returns its port. Every socket is closed
 * after the test.
 */
export async function startMitmProxy(t: Pick<TestContext, 'after'>, target: { host: string; port: number }, script: MitmScript): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((agent) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [agent, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    relay(agent, upstream, script.toServer);
    relay(upstream, agent, script.toAgent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as net.AddressInfo).port;
}
