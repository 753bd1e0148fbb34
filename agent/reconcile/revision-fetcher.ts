/**
 * The one thing the reconciler needs from the server: fetch a revision. The wire client
 * (agent/wire/wire-client.ts) is one; a test can hand the reconciler a fake one.
 */
import type { Revision } from '../../shared/wire/messages.js';
import type { FetchResult } from '../wire/wire-client.js';

export type { FetchResult };

/** What the agent asks for: the ref (or tag pattern), the ruleset, what it has, and a release proof. */
export interface FetchRequest {
  ref: string;
  track?: boolean;
  ruleset?: string;
  /** The revision in force, so the server can answer `unchanged` without the bytes. */
  have?: Revision;
  /**
   * The bytes of `have` (the revision in force): the server may then answer with a delta against
   * them (shared/wire/ruleset-delta.ts), which the fetcher rebuilds into the new bytes.
   */
  base?: Buffer;
  /** Ask for the release proof (agents with --allowed-signers). */
  proof?: boolean;
  /** With `have`: ask the server to say whether it is behind it (the answer's `behind`). */
  checkBehind?: boolean;
}

export interface RevisionFetcher {
  /**
   * The revision `request` names: its bytes (rebuilt from `request.base` and a delta, when the
   * server sent one: `delta` then says so), or `unchanged` when it is `request.have`.
   * Errors (as rejections): whatever stopped the fetch (connection, protocol, the server's answer).
   */
  fetch(request: FetchRequest): Promise<FetchResult>;
  /**
   * Called after each pass (once its outcome is out) with the bytes in force (the next request's
   * `base`): the fetcher may get ready for the next answer now (the wire client touches the memory
   * a delta will be rebuilt into and indexes the lines of `inForce`). Optional; must not throw.
   */
  idle?(inForce: Buffer): void;
}
