/**
 * A scripted hostile nft-sync server on loopback, for tests of what the agent does with what a
 * server sends: a real TCP socket, the real codec for the agent's messages, and whatever bytes
 * the script chooses to answer with. (A fake server: the real one never misbehaves on purpose.)
 */
import net from 'node:net';
import type { TestContext } from 'node:test';
import { encodeMessage } from '../../shared/wire/message-codec.js';
import { MessageReader } from '../../shared/wire/message-reader.js';
import { CLIENT_MESSAGE_TYPES, DEFAULT_MAX_FRAME, type ClientMessage } from '../../shared/wire/messages.js';

export interface HostileConnection {
  socket: net.Socket;
  /** The agent's next message; rejects when the connection closes first. */
  next(): Promise<ClientMessage>;
  /** Read hello and answer welcome (heartbeat off). */
  handshake(): Promise<void>;
  /** Write raw bytes; resolves once written or when the peer has gone. */
  send(bytes: Uint8Array): Promise<void>;
  /** Resolves when the socket closed. */
  closed: Promise<void>;
}

export interface HostileServer {
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
}

/** Start a server running `script` on every connection; stopped (and its sockets destroyed) after the test. */
export async function startHostileServer(t: Pick<TestContext, 'after'>, script: (c: HostileConnection) => Promise<void> | void): Promise<HostileServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    const reader = new MessageReader<ClientMessage>(CLIENT_MESSAGE_TYPES, DEFAULT_MAX_FRAME);
    const queue: ClientMessage[] = [];
    const waiting: Array<{ resolve: (m: ClientMessage) => void; reject: (e: Error) => void }> = [];
    const closed = new Promise<void>((resolve) =>
      socket.on('close', () => {
        sockets.delete(socket);
        for (const w of waiting.splice(0)) w.reject(new Error('connection closed'));
        resolve();
      }),
    );
    socket.on('data', (chunk) => {
      try {
        for (const m of reader.push(chunk)) {
          const w = waiting.shift();
          if (w) w.resolve(m.message);
          else queue.push(m.message);
        }
      } catch {
        socket.destroy();
      }
    });
    const c: HostileConnection = {
      socket,
      next: () => {
        const m = queue.shift();
        if (m) return Promise.resolve(m);
        if (socket.destroyed) return Promise.reject(new Error('connection closed'));
        return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
      },
      async handshake() {
        await c.next();
        await c.send(encodeMessage({ type: 'welcome', version: 1, server: 'hostile', maxFrame: 65536, heartbeat: 0 }));
      },
      send: (bytes) =>
        new Promise((resolve) => {
          if (socket.destroyed) return resolve();
          socket.write(bytes, () => resolve());
        }),
      closed,
    };
    Promise.resolve(script(c)).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    get accepted() {
      return accepted;
    },
  };
}
