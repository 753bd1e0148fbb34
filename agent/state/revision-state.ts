/**
 * Questions about the agent's state that are not transitions (those are in transitions.ts). Pure.
 */
import type { AgentState } from './state-store.js';

/**
 * Under --track-tags PATTERN, the tag of the release in force: the one recorded with the
 * revision, or for a state written before tags were recorded, the tag of the signed release
 * record kept for the pattern. Undefined when there is none.
 */
export function tagInForce(state: AgentState | undefined, pattern: string): string | undefined {
  if (!state) return undefined;
  return state.tag ?? (state.release?.ref === `track:${pattern}` ? state.release.tag : undefined);
}
