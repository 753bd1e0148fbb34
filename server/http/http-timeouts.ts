/**
 * The HTTP listener's time limits, in one place, and the two the listener cannot enforce by
 * itself: a whole-request deadline for API requests and an idle deadline for streamed git bodies.
 *
 * Why not Node's own `requestTimeout` for everything: it bounds the time to receive the WHOLE
 * request, body included, so it would cut a large push that is still sending over a slow link.
 * Git bodies are streamed to `git http-backend` instead and get an idle limit (nothing received
 * for `bodyIdleMs`); API bodies are small (fastify's 1 MiB limit) and keep a whole-request limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { NftSyncError } from '../../shared/errors.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface HttpTimeouts {
  /** Request line and headers must arrive within this (Node's headersTimeout). */
  headersMs: number;
  /** An API request's headers and body must arrive within this. Git bodies are exempt (bodyIdleMs). */
  requestMs: number;
  /** A git request body that sends nothing for this long is dropped, and its git process stopped. */
  bodyIdleMs: number;
  /** A kept-alive connection with no request in flight is closed after this. */
  keepAliveMs: number;
  /**
   * A connection with no bytes moving either way for this long is closed (a client that stops
   * reading an answer). Long enough for a validation that prints nothing: git's receive-pack
   * sends a keep-alive every 5 s while its hook runs, the API's rollback does not.
   */
  idleMs: number;
}

/** The defaults (`nft-sync server --http-*-timeout` flags override them). */
export const HTTP_TIMEOUT_DEFAULTS: Readonly<HttpTimeouts> = SERVER_DEFAULTS.httpTimeouts;

/** How often Node checks the headers deadline: its default (30 s) would make a 10 s limit 40 s. */
export function connectionsCheckingInterval(t: HttpTimeouts): number {
  return Math.max(100, Math.min(1000, Math.floor(t.headersMs / 4)));
}

/** A 408 with the one error body, written on the raw socket because the request is unfinished. */
function timeoutAnswer(message: string): string {
  const body = JSON.stringify({ error: new NftSyncError('NFTSYNC_ERR_PROTO_TIMEOUT', message).toJSON() });
  return `HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Give `req` until `ms` to arrive whole; past that, answer 408 NFTSYNC_ERR_PROTO_TIMEOUT (when no
 * answer has started) and close the connection. A request already complete (every GET) costs
 * nothing. `onTimeout` is told, for the log. Never throws.
 */
export function requestDeadline(req: IncomingMessage, res: ServerResponse, ms: number, onTimeout: () => void): void {
  if (req.complete) return;
  const timer = setTimeout(() => {
    if (req.complete) return;
    onTimeout();
    const socket = req.socket;
    if (!res.headersSent && socket.writable) socket.end(timeoutAnswer(`the request did not arrive whole within ${ms / 1000} s`));
    setImmediate(() => socket.destroy());
  }, ms);
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  req.once('end', clear);
  res.once('close', clear);
}

/**
 * Pipe a streamed request body into `sink`, dropping it when the client sends nothing for `ms`
 * while the sink is ready for more (time spent waiting on the sink, e.g. git busy indexing, does
 * not count). `onIdle` runs once on the timeout: it stops the consumer and closes the connection.
 */
export function pipeWithIdleLimit(body: Readable, sink: Writable, ms: number, onIdle: () => void): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (body.isPaused() || sink.writableNeedDrain) return arm();
      onIdle();
    }, ms);
    timer.unref();
  };
  const stop = (): void => clearTimeout(timer);
  body.on('data', arm);
  sink.on('drain', arm);
  body.once('end', stop);
  body.once('close', stop);
  body.once('error', stop);
  sink.once('close', stop);
  arm();
  body.pipe(sink);
}
