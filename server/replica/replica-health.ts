/** What a replica's /readyz and /metrics say about its mirror (server/http/routes/health-routes.ts). */

/** How a replica's mirror follows its primary, read at request time. */
export interface ReplicaHealth {
  /** The primary's URL, without credentials. */
  primary: string;
  /** When the mirror last held the primary's refs (ms since the epoch). */
  syncedAt: number | undefined;
  /** Whether the last poll of the primary was answered. */
  primaryReachable: boolean;
  /** Fetches of the primary since start. */
  fetches: number;
  /** Reports the primary kept from this replica since start. */
  forwarded: number;
}
