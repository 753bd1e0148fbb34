/**
 * Rulesets with one big IPv4 blocklist, for the big-set tests and bench rows: `n` distinct
 * addresses drawn from a seeded generator, so each seed gives another set (a push that changes
 * it) and a failure can be replayed.
 */

/** `n` distinct IPv4 addresses (dotted quads) from `seed`. */
export function bigAddressList(n: number, seed: number): string[] {
  let x = seed >>> 0 || 1;
  const seen = new Set<number>();
  const out: string[] = [];
  while (out.length < n) {
    // xorshift32: cheap, and good enough to spread addresses over the whole space.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (seen.has(x)) continue;
    seen.add(x);
    out.push(`${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`);
  }
  return out;
}

/** A ruleset (repository form) dropping traffic from a set of `n` addresses. */
export function bigSetRuleset(n: number, seed: number): { nftables: unknown[] } {
  return {
    nftables: [
      { table: { family: 'inet', name: 'bigset' } },
      { set: { family: 'inet', table: 'bigset', name: 'blocklist', type: 'ipv4_addr', elem: bigAddressList(n, seed) } },
      { chain: { family: 'inet', table: 'bigset', name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
      {
        rule: {
          family: 'inet', table: 'bigset', chain: 'input',
          expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@blocklist' } }, { drop: null }],
        },
      },
    ],
  };
}
