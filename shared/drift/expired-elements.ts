/**
 * Set and map elements that expire. A revision may declare an element with a timeout
 * (`{"elem": {"val": "198.18.0.1", "timeout": 2}}`), or a set with a default `timeout` for all
 * its elements: each load of the revision (an apply, a heal) adds the element for that long, and
 * then the kernel removes it, without any event (nft 1.0.6, kernel 6.x: `nft monitor` shows
 * nothing). That is what the revision asks for, so an expired element is not drift: it is not
 * healed back (which would renew it for ever), and `agent --publish` does not publish its
 * disappearance as a live change. Comparisons therefore put back, into what nft lists, every
 * element the revision declares as expiring that the listing lacks, before comparing
 * (withExpiredElements). One consequence, documented in README: a declared expiring element
 * deleted by hand is taken for expired too. Pure.
 */
import { canonicalElement, setTimeouts } from '../ruleset/ruleset-normalise.js';
import { elementFields, itemBody, itemKind } from '../ruleset/ruleset-items.js';
import type { Ruleset, RulesetItem } from '../ruleset/ruleset-types.js';

const setKey = (b: Record<string, unknown>): string => `${String(b.family)} ${String(b.table)} ${String(b.name)}`;


/**
 * The elements `declared` adds that expire, by set (`family table name`): every element of a
 * set or map with a default `timeout`, and every element with its own. Elements of `element`
 * items count with their set's default. Never throws on a parsed ruleset.
 */
export function expiringElements(declared: Ruleset): Map<string, unknown[]> {
  const defaults = setTimeouts(declared);
  const out = new Map<string, unknown[]>();
  for (const item of declared.nftables) {
    const kind = itemKind(item);
    if (kind !== 'set' && kind !== 'map' && kind !== 'element') continue;
    const body = itemBody(item);
    if (!Array.isArray(body.elem)) continue;
    const key = setKey(body);
    const all = (defaults.get(key) ?? 0) !== 0;
    const list = body.elem.filter((e) => all || elementFields(e)?.timeout !== undefined);
    if (list.length > 0) out.set(key, [...(out.get(key) ?? []), ...list]);
  }
  return out;
}

/**
 * Seconds element `e` of a set with default `setTimeout` lives once loaded: its `expires` when
 * shorter, else its own timeout or the set's; undefined: not a number (taken as possibly expired).
 */
function timeoutOf(e: unknown, setTimeout: unknown): number | undefined {
  const fields = elementFields(e) ?? {};
  const t = fields.timeout ?? setTimeout;
  if (typeof t !== 'number' || !Number.isFinite(t)) return undefined;
  const expires = fields.expires;
  if (expires === undefined) return t;
  return typeof expires === 'number' && Number.isFinite(expires) ? Math.min(t, expires) : undefined;
}

/**
 * `listing` (what nft lists of the managed tables, list form) with every expiring element of
 * `declared` that it lacks put back into its set, as declared; a set the listing does not hold
 * gets nothing (a set deleted is a change). `loadedMs`, when known: how long ago every element of
 * `declared` was loaded (a full load just made); an element whose timeout is longer than that
 * (and a second) cannot have expired, so a listing that lacks it is not mended. Elements are
 * matched as nft lists them (an element's own timeout equal to its set's default is not listed).
 * Returns `listing` itself when nothing is missing; never modifies it. Never throws on parsed rulesets.
 */
export function withExpiredElements(listing: Ruleset, declared: Ruleset, options: { loadedMs?: number } = {}): Ruleset {
  const expiring = expiringElements(declared);
  if (expiring.size === 0) return listing;
  const defaults = setTimeouts(declared);
  const expired = (e: unknown, key: string): boolean => {
    if (options.loadedMs === undefined) return true;
    const t = timeoutOf(e, defaults.get(key));
    return t === undefined || t <= options.loadedMs / 1000 + 1;
  };
  // What the listing holds, by set (nft lists elements inside their set; `element` items count too).
  const listed = new Map<string, Set<string>>();
  for (const item of listing.nftables) {
    const kind = itemKind(item);
    if (kind !== 'set' && kind !== 'map' && kind !== 'element') continue;
    const body = itemBody(item);
    const key = setKey(body);
    if (!listed.has(key)) listed.set(key, new Set<string>());
    if (Array.isArray(body.elem)) for (const e of body.elem) listed.get(key)!.add(canonicalElement(e, defaults.get(key)));
  }
  let changed = false;
  const nftables = listing.nftables.map((item): RulesetItem => {
    const kind = itemKind(item);
    if (kind !== 'set' && kind !== 'map') return item;
    const body = itemBody(item);
    const key = setKey(body);
    const seen = listed.get(key)!;
    const back = (expiring.get(key) ?? []).filter((e) => expired(e, key) && !seen.has(canonicalElement(e, defaults.get(key))));
    if (back.length === 0) return item;
    changed = true;
    for (const e of back) seen.add(canonicalElement(e, defaults.get(key)));
    return { [kind]: { ...body, elem: [...(Array.isArray(body.elem) ? body.elem : []), ...back] } } as RulesetItem;
  });
  return changed ? { ...listing, nftables } : listing;
}
