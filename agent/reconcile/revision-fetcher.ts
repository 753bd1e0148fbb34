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
  /** Ask for the release proof (agents with --allowed-signers). */
  proof?: boolean;
}

export interface RevisionFetcher {
  /**
   * The revision `request` names: its bytes, or `unchanged` when it is `request.have`.
   * Errors (as rejections): whatever stopped the fetch (connection, protocol, the server's answer).
   */
  fetch(request: FetchRequest): Promise<FetchResult>;
}
