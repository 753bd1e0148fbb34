/**
 * Ruleset texts padded as the server pads them (shared/ruleset/text-pad.ts, read by
 * shared/ruleset/pad-lines.ts): renderRuleset's text followed by lines of spaces, so that
 * consecutive revisions keep one size; and a base big enough to be padded.
 */
import { renderRuleset } from '../../shared/ruleset/render-ruleset.js';
import { padOf } from '../../shared/ruleset/text-pad.js';

/** `n` pad bytes as the server writes them (padOf): one line of n mod 1024 bytes (when not 0), then lines of 1024 (1023 spaces and `\n`). */
export function serverPad(n: number): string {
  return padOf(n).toString('latin1');
}

/** `text` padded to `size` bytes as the server pads it (not at all when it is that long already). */
export function paddedTo(text: string, size: number): Buffer {
  return Buffer.from(text + serverPad(Math.max(0, size - Buffer.byteLength(text))));
}

/** The table of bigSetBase's set. */
export const BIG_SET_TABLE = 'f';
/** bigSetBase's set. */
export const BIG_SET = { family: 'inet', table: BIG_SET_TABLE, name: 'block' };
/** The `i`th address of bigSetBase's set (10.0.0.0 on). */
export const bigSetIp = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/**
 * A base of `n` addresses in one set (BIG_SET; `set` adds to its declaration, e.g. flags), then a
 * chain and a rule after it; 1 MiB or more (padded) from n = 42,000.
 */
export function bigSetBase(n: number, set: Record<string, unknown> = {}): string {
  const T = BIG_SET_TABLE;
  return renderRuleset({
    nftables: [
      { table: { family: 'inet', name: T } },
      { set: { family: 'inet', table: T, name: 'block', type: 'ipv4_addr', ...set, elem: Array.from({ length: n }, (_, i) => bigSetIp(i)) } },
      { chain: { family: 'inet', table: T, name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      { rule: { family: 'inet', table: T, chain: 'in', expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@block' } }, { drop: null }] } },
    ],
  });
}
