/**
 * The servers an agent may follow (`--server A,B,C`: a primary and its replicas), and reaching
 * the first of them that answers.
 */
import type tls from 'node:tls';
import { WireClient, type WireClientOptions } from './wire-client.js';

/** One server an agent may follow: where it listens and how to reach it. */
export interface ServerEndpoint {
  host: string;
  port: number;
  tls?: tls.ConnectionOptions;
}

/**
 * Connect to the first of `servers` that answers, trying them in order once each. Resolves
 * with the client and the index of its server; rejects with the last server's error (a
 * NftSyncError as WireClient.connect throws them) when none answered.
 */
export async function connectFirst(servers: readonly ServerEndpoint[], opts: Omit<WireClientOptions, 'host' | 'port' | 'tls'>): Promise<{ client: WireClient; index: number }> {
  let last: unknown;
  for (const [index, server] of servers.entries()) {
    try {
      return { client: await WireClient.connect({ ...opts, host: server.host, port: server.port, tls: server.tls }), index };
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
