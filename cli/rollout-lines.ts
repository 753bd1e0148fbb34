/**
 * Rollouts as `nft-sync rollout status` and `nft-sync status` print them: one line per rollout
 * and one per wave. Pure: formats the API's answer (GET /api/v1/rollouts), never calls it.
 */
import type { RolloutAnswer as RolloutView } from '../shared/http/http-api.js';

const short = (commit: string) => commit.slice(0, 12);

/** The revision as people name it: the tag when there is one, else the abbreviated commit. */
function rev(r: { commit: string; tag?: string }): string {
  return r.tag ? `${r.tag} (${short(r.commit)})` : short(r.commit);
}

/**
 * Lines describing `r` at time `now` (ms): its phase, revisions, who halted it, and each wave
 * with its agents (at most 8 named) and whether it was served, confirmed or waits.
 */
export function formatRollout(r: RolloutView, now: number): string[] {
  const head = `rollout ${r.name}: ${r.phase.toUpperCase()}  ${rev(r.previous)} -> ${rev(r.target)}  hold ${r.hold}s`;
  const lines = [head];
  if (r.haltedBy) lines.push(`  halted by ${r.haltedBy.agent}: ${r.haltedBy.reason}${r.haltedBy.message ? ` (${r.haltedBy.message})` : ''}; resume: nft-sync rollout resume, abort: nft-sync rollout abort`);
  r.waves.forEach((w, i) => {
    const state =
      w.confirmedAt !== undefined ? 'confirmed' : w.startedAt === undefined || r.phase === 'aborted' ? (r.phase === 'aborted' ? 'aborted' : 'waiting') : r.phase === 'halted' ? 'halted' : `serving for ${Math.round((now - w.startedAt) / 1000)}s`;
    const names = w.agents.length > 8 ? `${w.agents.slice(0, 8).join(', ')}, +${w.agents.length - 8}` : w.agents.join(', ');
    lines.push(`  wave ${i + 1}: ${state}, ${w.agents.length} agent${w.agents.length === 1 ? '' : 's'}${names ? `: ${names}` : ''}`);
  });
  if (r.phase === 'complete' || r.phase === 'aborted') lines.push(`  took ${Math.round((r.endedAt! - r.startedAt) / 1000)}s, ${Math.round(r.beyondHoldMs / 1000)}s beyond the hold times`);
  return lines;
}

/** The rollouts worth a look in `nft-sync status`: running and halted ones. */
export function activeRollouts(all: readonly RolloutView[]): RolloutView[] {
  return all.filter((r) => r.phase === 'running' || r.phase === 'halted');
}
