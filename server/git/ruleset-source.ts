import type { ProofReader } from './release-proof.js';

/**
 * What a wire session needs from the repository: refs resolved, rulesets read, the agent's
 * ruleset from nft-sync.yaml, and for release proofs the raw objects. RulesetRepository
 * implements it; tests pass fakes of their own.
 */
export interface RulesetSource {
  resolveRef(ref: string): Promise<string>;
  resolveTrackedTag(pattern: string): Promise<{ tag: string; commit: string }>;
  readRuleset(commit: string, name: string): Promise<{ blob: string; bytes: Buffer }>;
  rulesetForAgent(commit: string, agent: string): Promise<string>;
  /** Raw objects and tag refs, for release proofs (fetch with `proof`); see release-proof.ts. */
  readRawObject?: ProofReader['readRawObject'];
  tagObjectId?: ProofReader['tagObjectId'];
  /**
   * A replica's check (server/replica/replica-source.ts): true when `commit`, which an agent
   * reports having applied, is unknown here, so this server is behind that agent. A fetch for a
   * ref is then answered `unchanged` with what the agent has instead of an older revision.
   */
  behind?(commit: string): Promise<boolean>;
}
