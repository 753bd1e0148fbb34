/**
 * Turning what `nft -j list ruleset` prints into a ruleset file for the repository (`nft-sync
 * import`): handles and the volatile metainfo (nft's version and release name) are dropped,
 * kernel-kept counters are zeroed, elements lose the time they have left (`expires`), and items are put in an order that loads as it reads: tables,
 * chains, named objects, sets and maps, flowtables, then rules (nft lists sets before chains,
 * which a verdict map jumping to a chain cannot be loaded from; see apply-plan.ts).
 */
import type { Ruleset, RulesetItem } from './ruleset-types.js';
import { NAMED_OBJECT_KINDS, itemBody, itemKind } from './ruleset-items.js';

const RANK: Record<string, number> = { metainfo: 0, table: 1, chain: 2, set: 4, map: 4, element: 5, flowtable: 6, rule: 7 };
for (const k of NAMED_OBJECT_KINDS) RANK[k] = 3;

/** The metainfo every imported file starts with (what the repository template has). */
export const IMPORT_METAINFO = { metainfo: { json_schema_version: 1 } } as const;

function clean(body: Record<string, unknown>, kind: string): Record<string, unknown> {
  const { handle: _h, ...rest } = body;
  // A named counter's or quota's values are the host's traffic, not configuration.
  if (kind === 'counter') return { ...rest, packets: 0, bytes: 0 };
  if (kind === 'quota' && 'used' in rest) return { ...rest, used: 0 };
  if ((kind === 'set' || kind === 'map' || kind === 'element') && Array.isArray(rest.elem)) return { ...rest, elem: rest.elem.map(withoutExpires) };
  return rest;
}

/**
 * A listed element without the time it has left (`expires`: the host's clock, not
 * configuration); one left with only its value is that value, as a file writes it.
 */
function withoutExpires(e: unknown): unknown {
  if (Array.isArray(e) && e.length === 2) return [withoutExpires(e[0]), e[1]];
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return e;
  const inner = (e as Record<string, unknown>).elem;
  if (inner === null || typeof inner !== 'object' || Array.isArray(inner) || !('expires' in inner)) return e;
  const { expires: _x, ...kept } = inner as Record<string, unknown>;
  return Object.keys(kept).length === 1 && 'val' in kept ? kept.val : { ...(e as Record<string, unknown>), elem: kept };
}

/**
 * The repository form of a listing: `{nftables: [metainfo, ...items]}` in load order, items of
 * the same kind kept in listing order (so rules keep their order in each chain). Pure; the
 * caller validates the result with parseRuleset. Never throws on a listing from nft.
 */
export function listingToRuleset(listing: Ruleset): Ruleset {
  const items: Array<{ rank: number; at: number; item: RulesetItem }> = [];
  listing.nftables.forEach((item, at) => {
    const kind = itemKind(item);
    if (kind === 'metainfo') return;
    items.push({ rank: RANK[kind] ?? 6, at, item: { [kind]: clean(itemBody(item), kind) } as unknown as RulesetItem });
  });
  items.sort((a, b) => a.rank - b.rank || a.at - b.at);
  return { nftables: [IMPORT_METAINFO as unknown as RulesetItem, ...items.map((x) => x.item)] };
}
