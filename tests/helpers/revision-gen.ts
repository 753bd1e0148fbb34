/**
 * fast-check generators of ruleset revisions that nft 1.0.6 loads, for the minimal-transaction
 * property tests. Each revision draws from the same small pools, so two draws differ the way two
 * revisions of one ruleset do: elements in and out of a hash set, an interval set (prefixes and
 * ranges), a verdict map (data changing, jumps to a chain that may come and go), a concatenated
 * set, a concatenated interval map, a set with per-element timeouts; rules in and out of
 * chains and reordered; chains, sets, a named counter and a second table coming and going; a set
 * policy and a chain policy changing (definitions that cannot change in place).
 * Addresses are in 198.18.0.0/15 only.
 */
import fc from 'fast-check';

const T = 'mx';
const F = 'inet';
const at = { family: F, table: T };
const saddr = { payload: { protocol: 'ip', field: 'saddr' } };
const match = (left: unknown, right: unknown): unknown => ({ match: { op: '==', left, right } });

export interface RevisionChoice {
  hash: number[];
  interval: number[];
  vmap: Array<[number, number]>;
  concat: Array<[number, number]>;
  concatInterval: Array<[number, number]>;
  timed: Array<[number, number]>;
  ports: number[];
  rules: number[];
  shuffle: boolean;
  c1: boolean;
  c2Policy: 'accept' | 'drop' | 'none';
  opt: number[] | null;
  counter: boolean;
  policy: 'performance' | 'memory';
  table2: number[] | null;
}

const sub = (n: number, max = n): fc.Arbitrary<number[]> => fc.uniqueArray(fc.nat(n - 1), { maxLength: max }).map((a) => a.sort((x, y) => x - y));
const pairs = (n: number, m: number): fc.Arbitrary<Array<[number, number]>> =>
  fc.uniqueArray(fc.tuple(fc.nat(n - 1), fc.nat(m - 1)), { maxLength: n, selector: (p) => p[0] }).map((a) => a.sort((x, y) => x[0] - y[0]));

/** A random revision's choices. */
export const revisionChoice: fc.Arbitrary<RevisionChoice> = fc.record({
  hash: sub(24, 16),
  interval: sub(16, 10),
  vmap: pairs(8, 3),
  concat: pairs(8, 3),
  concatInterval: pairs(6, 4),
  timed: pairs(8, 3),
  ports: sub(6),
  rules: sub(9),
  shuffle: fc.boolean(),
  c1: fc.boolean(),
  c2Policy: fc.constantFrom('accept' as const, 'drop' as const, 'none' as const),
  opt: fc.option(sub(6), { nil: null }),
  counter: fc.boolean(),
  policy: fc.constantFrom('performance' as const, 'memory' as const),
  table2: fc.option(sub(5), { nil: null }),
});

function intervalElement(i: number): unknown {
  // Even: a /24 prefix; odd: a range; never overlapping.
  return i % 2 === 0 ? { prefix: { addr: `198.18.${100 + i}.0`, len: 24 } } : { range: [`198.18.${100 + i}.10`, `198.18.${100 + i}.20`] };
}

/** The ruleset (libnftables JSON, list form) a choice describes. */
export function revisionRuleset(c: RevisionChoice): { nftables: unknown[] } {
  const verdicts = [{ accept: null }, { drop: null }, c.c1 ? { jump: { target: 'c1' } } : { accept: null }];
  const rulePool: Array<unknown[] | null> = [
    [match({ payload: { protocol: 'tcp', field: 'dport' } }, 22), { accept: null }],
    [match(saddr, '@h'), { drop: null }],
    [match(saddr, '@i'), { accept: null }],
    [{ vmap: { key: saddr, data: '@m' } }],
    [match({ concat: [saddr, { payload: { protocol: 'tcp', field: 'dport' } }] }, '@cc'), { drop: null }],
    c.counter ? [{ counter: 'cnt' }] : null,
    c.c1 ? [{ jump: { target: 'c1' } }] : null,
    c.opt ? [match({ payload: { protocol: 'ip', field: 'daddr' } }, '@opt'), { drop: null }] : null,
    [match({ payload: { protocol: 'udp', field: 'dport' } }, '@p'), { accept: null }],
  ];
  let rules = c.rules.map((i) => rulePool[i]).filter((r): r is unknown[] => r !== null);
  if (c.shuffle && rules.length > 1) rules = [...rules.slice(1), rules[0]!];
  const items: unknown[] = [
    { table: { family: F, name: T } },
    { chain: { ...at, name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
  ];
  if (c.c1) items.push({ chain: { ...at, name: 'c1' } });
  if (c.c2Policy !== 'none') items.push({ chain: { ...at, name: 'c2', type: 'filter', hook: 'forward', prio: 0, policy: c.c2Policy } });
  if (c.counter) items.push({ counter: { ...at, name: 'cnt', packets: 0, bytes: 0 } });
  const set = (name: string, type: unknown, elem: unknown[], extra: Record<string, unknown> = {}): unknown => ({ set: { ...at, name, type, ...extra, ...(elem.length ? { elem } : {}) } });
  items.push(set('h', 'ipv4_addr', c.hash.map((i) => `198.18.1.${i + 1}`)));
  items.push(set('i', 'ipv4_addr', c.interval.map(intervalElement), { flags: ['interval'] }));
  const m = c.vmap.map(([k, v]) => [`198.18.2.${k + 1}`, verdicts[v]]);
  items.push({ map: { ...at, name: 'm', type: 'ipv4_addr', map: 'verdict', ...(m.length ? { elem: m } : {}) } });
  items.push(set('cc', ['ipv4_addr', 'inet_service'], c.concat.map(([a, p]) => ({ concat: [`198.18.3.${a + 1}`, 1000 + p] }))));
  const ci = c.concatInterval.map(([a, d]) => [{ concat: [a % 2 ? { prefix: { addr: `198.18.${40 + a}.0`, len: 24 } } : `198.18.4.${a + 1}`, { range: [2000 + a * 10, 2005 + a * 10] }] }, `198.18.5.${d + 1}`]);
  items.push({ map: { ...at, name: 'ci', type: ['ipv4_addr', 'inet_service'], map: 'ipv4_addr', flags: ['interval'], ...(ci.length ? { elem: ci } : {}) } });
  const timeouts = [3600, 7200, 0];
  items.push(set('to', 'ipv4_addr', c.timed.map(([a, t]) => (timeouts[t] ? { elem: { val: `198.18.6.${a + 1}`, timeout: timeouts[t] } } : `198.18.6.${a + 1}`)), { flags: ['timeout'] }));
  items.push(set('p', 'inet_service', c.ports.map((p) => 5000 + p), { policy: c.policy }));
  if (c.opt) items.push(set('opt', 'ipv4_addr', c.opt.map((i) => `198.18.7.${i + 1}`)));
  for (const expr of rules) items.push({ rule: { ...at, chain: 'input', expr } });
  if (c.c1) items.push({ rule: { ...at, chain: 'c1', expr: [match({ payload: { protocol: 'tcp', field: 'dport' } }, 80), { accept: null }] } });
  if (c.table2) {
    items.push({ table: { family: 'ip', name: 'mx2' } });
    items.push({ set: { family: 'ip', table: 'mx2', name: 's2', type: 'ipv4_addr', ...(c.table2.length ? { elem: c.table2.map((i) => `198.18.8.${i + 1}`) } : {}) } });
    items.push({ chain: { family: 'ip', table: 'mx2', name: 'out', type: 'filter', hook: 'output', prio: 0, policy: 'accept' } });
    items.push({ rule: { family: 'ip', table: 'mx2', chain: 'out', expr: [match({ payload: { protocol: 'ip', field: 'daddr' } }, '@s2'), { drop: null }] } });
  }
  return { nftables: items };
}

const KEYS = ['hash', 'interval', 'vmap', 'concat', 'concatInterval', 'timed', 'ports', 'rules', 'shuffle', 'c1', 'c2Policy', 'opt', 'counter', 'policy', 'table2'] as const;

/** Two revisions: most often the second is the first with one to three of its parts redrawn, sometimes unrelated. */
export const revisionPair: fc.Arbitrary<[RevisionChoice, RevisionChoice]> = fc
  .tuple(revisionChoice, revisionChoice, fc.subarray([...KEYS], { minLength: 1, maxLength: 3 }), fc.nat(4))
  .map(([a, c, keys, how]) => {
    if (how === 0) return [a, c];
    const edited = { ...a } as Record<string, unknown>;
    for (const k of keys) edited[k] = c[k];
    return [a, edited as unknown as RevisionChoice];
  });
