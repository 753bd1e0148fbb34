/**
 * The server's side of the pre-receive hand-off: a unix socket at `GIT_DIR/nft-sync/hook.sock`
 * on which the repository's hook (server/push/pre-receive-client.ts) asks the running server to judge
 * a push. Checks run in a worker thread (server/push/push-check-worker.ts) that keeps the validator
 * loaded and a scratch namespace warm, so a push does not pay a Node start-up, a module load and
 * a namespace creation.
 *
 * Who may use it: the socket is 0600 in a 0700 directory owned by the server's user, so only that
 * user's processes (git's receive-pack under the server, or an ssh push as that user) reach it;
 * every other pusher's hook validates by itself as before. What it judges: only pushes to this
 * repository whose objects are in this repository's quarantine (server/push/push-check-request.ts).
 * Bounds: a request of at most HOOK_REQUEST_MAX bytes, received within `requestTimeoutMs`; at most
 * `maxConnections` at once (a connection past that is closed: its hook validates by itself).
 */
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { parsePushCheckRequest } from './push-check-request.js';
import type { WorkerMessage, WorkerRequest } from './push-check-worker.js';
import { HOOK_HEARTBEAT_MS, HOOK_REQUEST_MAX, HOOK_SOCKET_DIR, HOOK_SOCKET_NAME } from './pre-receive-client.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface PushCheckServiceOptions {
  gitdir: string;
  logger: Logger;
  /** Time to receive a request (default 5 s). */
  requestTimeoutMs?: number;
  /** Connections at once (default 16). */
  maxConnections?: number;
}

/** A unix socket path's limit (sockaddr_un.sun_path, with its NUL). */
const SUN_PATH_MAX = 107;

interface Pending {
  line(text: string): void;
  done(code: number): void;
}

/** The worker's entry: the compiled file, or from the sources through tsx (tests, bench). */
function startWorker(): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./push-check-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}))`, { eval: true });
}

export class PushCheckService {
  readonly socketPath: string;
  readonly #opts: PushCheckServiceOptions;
  readonly #server: net.Server;
  readonly #log: Logger;
  readonly #pending = new Map<number, Pending>();
  /** Scratch namespaces the worker holds: removed here on exit even if the worker is gone. */
  readonly #netns = new Set<string>();
  readonly #onExit = (): void => {
    for (const name of this.#netns) {
      try {
        execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  };
  #worker: Worker | undefined;
  /** Called when the last check in flight ends (close() waits for it). */
  #drained: (() => void) | undefined;
  #nextId = 1;
  /** Checks judged here (answered with a verdict) since the start. */
  judged = 0;
  #closed = false;

  private constructor(opts: PushCheckServiceOptions, socketPath: string) {
    this.#opts = opts;
    this.socketPath = socketPath;
    this.#log = opts.logger.child({ component: 'push-check' });
    // Half-open: the hook ends its side once the request is sent, and waits for the verdict.
    this.#server = net.createServer({ allowHalfOpen: true }, (socket) => this.#serve(socket));
    this.#server.maxConnections = opts.maxConnections ?? 16;
  }

  /**
   * Listen on `gitdir/nft-sync/hook.sock`. Resolves undefined, with a
   * warning logged, when the hand-off cannot be offered (the directory is not the server user's
   * own, the path is too long for a unix socket, another server already answers there): pushes
   * are then validated by the hook alone, as without a server. Never throws.
   */
  static async start(opts: PushCheckServiceOptions): Promise<PushCheckService | undefined> {
    const log = opts.logger;
    const dir = join(opts.gitdir, HOOK_SOCKET_DIR);
    const socketPath = join(dir, HOOK_SOCKET_NAME);
    try {
      if (Buffer.byteLength(socketPath) > SUN_PATH_MAX) throw new Error(`${socketPath} is longer than a unix socket path may be (${SUN_PATH_MAX} bytes)`);
      await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const st = await lstat(dir);
      if (!st.isDirectory() || st.uid !== process.getuid?.()) throw new Error(`${dir} is not a directory owned by the server's user`);
      await chmod(dir, 0o700);
      if (await answers(socketPath)) throw new Error(`another server already answers on ${socketPath}`);
      await unlink(socketPath).catch(() => undefined);
      const service = new PushCheckService(opts, socketPath);
      await new Promise<void>((resolve, reject) => {
        service.#server.once('error', reject);
        service.#server.listen(socketPath, () => resolve());
      });
      await chmod(socketPath, 0o600);
      // The worker starts with the first push, not here: a server that never sees one (most
      // of them in a test suite, and an idle one's RSS) does not pay for it.
      log.debug({ socket: socketPath }, 'push checks handed over by the pre-receive hook run in this server');
      return service;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'the pre-receive hook cannot hand checks to this server: each push starts the full validator instead (slower, same checks)');
      return undefined;
    }
  }

  /**
   * Stop listening, let the checks in flight finish (up to `graceMs`; the hooks of those still
   * running then validate by themselves), finish with the worker (its namespaces removed) and
   * remove the socket. Never throws.
   */
  async close(graceMs = SERVER_DEFAULTS.http.shutdownGraceMs): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await unlink(this.socketPath).catch(() => undefined);
    if (this.#pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const p of this.#pending.values()) p.done(-1);
    this.#pending.clear();
    const worker = this.#worker;
    if (worker) {
      const done = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        worker.on('message', (m: WorkerMessage) => {
          if (m.type === 'closed') {
            clearTimeout(timer);
            resolve();
          }
        });
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      worker.postMessage({ type: 'close' } satisfies WorkerRequest);
      await done;
      await worker.terminate();
    }
    this.#onExit();
    this.#netns.clear();
    process.removeListener('exit', this.#onExit);
    await closed;
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startWorker();
    worker.unref();
    // The worker's namespaces are recorded here too: removed on exit even if it dies first.
    process.removeListener('exit', this.#onExit);
    process.once('exit', this.#onExit);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'netns') {
        if (m.created) this.#netns.add(m.created);
        if (m.removed) this.#netns.delete(m.removed);
      } else if (m.type === 'line') this.#pending.get(m.id)?.line(m.line);
      else if (m.type === 'done') {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        p?.done(m.code);
        if (this.#pending.size === 0) this.#drained?.();
      }
    });
    const lost = (why: string): void => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      if (!this.#closed) this.#log.error({ why }, 'push check worker stopped; pushes in flight are checked by their hooks');
      for (const p of this.#pending.values()) p.done(-1);
      this.#pending.clear();
      this.#drained?.();
      this.#onExit(); // its namespaces: nobody else will remove them now
      this.#netns.clear();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit ${code}`));
    this.#worker = worker;
    return worker;
  }

  #serve(socket: net.Socket): void {
    socket.on('error', () => undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    const deadline = setTimeout(() => socket.destroy(), this.#opts.requestTimeoutMs ?? SERVER_DEFAULTS.pushChecks.requestTimeoutMs);
    const reply = (line: string): boolean => socket.write(`${line}\n`);
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > HOOK_REQUEST_MAX) {
        clearTimeout(deadline);
        socket.off('data', onData);
        this.#log.warn({ size }, 'push check request too large: refused');
        socket.end(`fallback the request is larger than ${HOOK_REQUEST_MAX} bytes\n`);
        return;
      }
      chunks.push(c);
    };
    socket.on('data', onData);
    socket.once('end', () => {
      clearTimeout(deadline);
      if (size > HOOK_REQUEST_MAX) return;
      void this.#judge(Buffer.concat(chunks), socket, reply);
    });
    socket.once('close', () => clearTimeout(deadline));
  }

  async #judge(request: Buffer, socket: net.Socket, reply: (line: string) => boolean): Promise<void> {
    const req = await parsePushCheckRequest(request, this.#opts.gitdir);
    if ('fallback' in req || this.#closed) {
      const why = 'fallback' in req ? req.fallback : 'the server is stopping';
      this.#log.warn({ why }, 'push check not taken: the hook validates by itself');
      socket.end(`fallback ${why}\n`);
      return;
    }
    const id = this.#nextId++;
    const started = performance.now();
    const heartbeat = setInterval(() => reply('wait'), HOOK_HEARTBEAT_MS);
    socket.once('close', () => clearInterval(heartbeat));
    this.#pending.set(id, {
      line: (text) => {
        for (const line of text.split('\n')) reply(`say ${line}`);
      },
      done: (code) => {
        clearInterval(heartbeat);
        if (code < 0) socket.destroy(); // the worker died: the hook falls back
        else {
          this.judged += 1;
          this.#log.debug({ code, ms: Math.round(performance.now() - started) }, 'push checked');
          socket.end(`exit ${code === 0 ? 0 : 1}\n`);
        }
      },
    });
    this.#ensureWorker().postMessage({ type: 'check', id, input: req.input, gitdir: this.#opts.gitdir, gitEnv: req.gitEnv } satisfies WorkerRequest);
  }
}

/** Whether something accepts connections on `path` (a live server, not a stale socket file). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
