/**
 * Generators of what a hostile server answers an agent, for the fuzz tests of the agent side:
 * rulesets that pass the schema, the same with commands or foreign tables slipped in, frames
 * that lie about their length or stop short, bytes that do not match their blob id, and release
 * proofs (a well-formed one to truncate and forge), and deltas that do not rebuild what they
 * announce. Deterministic for a given seed.
 */
import fc from 'fast-check';
import { gitBlobId } from '../../shared/git/git-blob-id.js';
import { gitObjectId } from '../../shared/git/git-objects.js';
import { encodeMessage } from '../../shared/wire/message-codec.js';
import { encodeRulesetDelta } from '../../shared/wire/ruleset-delta.js';
import type { ProofObject, ReleaseClaim } from '../../shared/release/release-proof.js';
import type { TableRef } from '../../shared/ruleset/ruleset-types.js';

/** Tables a ruleset may declare: the agent's own and well-known ones of other tools. */
export const TABLE_POOL: readonly TableRef[] = [
  { family: 'inet', name: 'nft_sync' },
  { family: 'inet', name: 'f2b-table' },
  { family: 'ip', name: 'nat' },
  { family: 'ip', name: 'kube-proxy' },
  { family: 'ip6', name: 'edge' },
];

/** Top-level commands of libnftables JSON: none may appear as a ruleset item. */
export const COMMAND_VERBS = ['add', 'create', 'insert', 'replace', 'delete', 'destroy', 'flush', 'reset', 'rename', 'list'] as const;

const table = fc.constantFrom(...TABLE_POOL);
const chainName = fc.constantFrom('input', 'forward', 'c1', 'x y');
const expr = fc.oneof(
  fc.constant([{ accept: null }]),
  fc.constant([{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } }, { drop: null }]),
  fc.constant([{ counter: null }, { jump: { target: 'c1' } }]),
  // Command-shaped objects inside a rule are expressions to nft (which refuses them), never commands.
  fc.constantFrom(...COMMAND_VERBS).map((v) => [{ [v]: { table: { family: 'inet', name: 'f2b-table' } } }]),
  fc.constant([{ quota: { val: 1152921504606847000, val_unit: 'bytes' } }]),
);

/** A ruleset that passes the schema: 1 to 3 tables of TABLE_POOL, each with chains, a set, rules. */
export const validRuleset: fc.Arbitrary<{ nftables: Record<string, unknown>[] }> = fc
  .tuple(fc.uniqueArray(table, { minLength: 1, maxLength: 3, selector: (t) => `${t.family} ${t.name}` }), fc.array(fc.tuple(fc.nat(), chainName, expr), { maxLength: 6 }), fc.boolean())
  .map(([tables, rules, withSet]) => {
    const items: Record<string, unknown>[] = [{ metainfo: { json_schema_version: 1 } }];
    for (const t of tables) {
      items.push({ table: { ...t } });
      for (const c of ['input', 'forward', 'c1', 'x y']) items.push({ chain: { family: t.family, table: t.name, name: c } });
      if (withSet) items.push({ set: { family: t.family, table: t.name, name: 's', type: 'ipv4_addr', elem: ['198.18.0.1', { prefix: { addr: '198.18.4.0', len: 24 } }] } });
    }
    for (const [n, chain, e] of rules) {
      const t = tables[n % tables.length]!;
      items.push({ rule: { family: t.family, table: t.name, chain, expr: e } });
    }
    return { nftables: items };
  });

/** A valid ruleset with one hostile item inserted: a command, a table it does not declare, an extra key. */
export const commandRuleset: fc.Arbitrary<{ nftables: Record<string, unknown>[]; kind: string }> = fc
  .tuple(
    validRuleset,
    fc.nat(),
    fc.oneof(
      fc.tuple(fc.constantFrom(...COMMAND_VERBS), fc.constantFrom('table', 'chain', 'ruleset', 'set', 'counters', 'rule')).map(([verb, what]) => ({
        kind: `command ${verb}`,
        item: { [verb]: { [what]: what === 'ruleset' ? null : { family: 'inet', table: 'f2b-table', name: 'f2b-table', chain: 'input', newname: 'x' } } } as Record<string, unknown>,
      })),
      fc.constantFrom(...TABLE_POOL).map((t) => ({ kind: 'undeclared table', item: { chain: { family: t.family, table: `${t.name}-other`, name: 'input' } } as Record<string, unknown> })),
      fc.constantFrom('flush', 'delete', 'rename').map((k) => ({ kind: `extra key ${k}`, item: { table: { family: 'inet', name: 'zz', [k]: true } } as Record<string, unknown> })),
      fc.constantFrom(...COMMAND_VERBS).map((v) => ({ kind: `two keys ${v}`, item: { table: { family: 'inet', name: 'zz' }, [v]: { table: { family: 'inet', name: 'f2b-table' } } } as Record<string, unknown> })),
    ),
  )
  .map(([r, at, { kind, item }]) => {
    const items = [...r.nftables];
    items.splice(1 + (at % items.length), 0, item);
    return { nftables: items, kind };
  });

/** Render a ruleset as the repository does (2-space indent). */
export function rulesetBytes(r: { nftables: unknown[] }): Buffer {
  return Buffer.from(`${JSON.stringify({ nftables: r.nftables }, null, 2)}\n`);
}

const OID = (c: string) => c.repeat(40);

/** A `ruleset` answer frame for fetch `id`: bytes, announced blob (the right one unless given). */
export function rulesetFrame(id: number, bytes: Buffer, blob = gitBlobId(bytes), proof?: ProofObject[]): Buffer {
  const body = proof ? Buffer.concat([bytes, ...proof.map((p) => p.content)]) : bytes;
  return encodeMessage(
    { type: 'ruleset', id, ref: 'main', ruleset: 'default', commit: OID('c'), blob, size: bytes.length, ...(proof && { proof: proof.map((p) => ({ type: p.type, id: p.id, size: p.content.length })) }) },
    body,
  );
}

/** A `ruleset` answer for fetch `id` whose body is a delta `body` against blob `base`, announcing `size` bytes of blob `blob`. */
export function deltaFrame(id: number, body: Buffer, d: { base: string; size: number; blob: string }): Buffer {
  return encodeMessage({ type: 'ruleset', id, ref: 'main', ruleset: 'default', commit: OID('c'), blob: d.blob, size: body.length, delta: { base: d.base, size: d.size } }, body);
}

/** How a hostile delta lies (hostileDelta). */
export type DeltaLie =
  | { how: 'none' }
  | { how: 'garbled'; pos: number; byte: number }
  | { how: 'cut'; keep: number }
  | { how: 'size'; by: number }
  | { how: 'huge' }
  | { how: 'wrong-blob'; pos: number }
  | { how: 'other-base' }
  | { how: 'ops'; text: string };

export const deltaLie: fc.Arbitrary<DeltaLie> = fc.oneof(
  fc.constant({ how: 'none' as const }),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([pos, byte]) => ({ how: 'garbled' as const, pos, byte })),
  fc.nat().map((keep) => ({ how: 'cut' as const, keep })),
  fc.integer({ min: -1000, max: 1000 }).filter((n) => n !== 0).map((by) => ({ how: 'size' as const, by })),
  fc.constant({ how: 'huge' as const }),
  fc.nat().map((pos) => ({ how: 'wrong-blob' as const, pos })),
  fc.constant({ how: 'other-base' as const }),
  fc
    .array(fc.oneof(fc.constantFrom('= 1', '- 1', '+ 1', '= 999999999', '+ 999999999', '- 0', '=1', '+ 2', 'x', '', '= 01')), { maxLength: 8 })
    .map((ops) => ({ how: 'ops' as const, text: `nft-sync-delta 1\n${ops.join('\n')}\n` })),
);

/**
 * A delta answer from `base` to `target` that lies as `lie` says, with `max` the agent's
 * --max-ruleset-bytes: its header (base, size, blob) and body. `honest` is true when the lie
 * happened to change nothing (the answer then rebuilds `target` exactly). Deterministic.
 */
export function hostileDelta(base: Buffer, target: Buffer, lie: DeltaLie, max: number): { body: Buffer; base: string; size: number; blob: string; honest: boolean } {
  const real = encodeRulesetDelta(base, target) ?? Buffer.from(`nft-sync-delta 1\n- ${base.toString('utf8').split('\n').length}\n+ ${target.toString('utf8').split('\n').length}\n${target.toString('utf8')}\n`);
  const out = { body: real, base: gitBlobId(base), size: target.length, blob: gitBlobId(target), honest: false };
  switch (lie.how) {
    case 'none':
      return { ...out, honest: true };
    case 'garbled': {
      const body = Buffer.from(real);
      const i = lie.pos % body.length;
      out.honest = body[i] === lie.byte;
      body[i] = lie.byte;
      return { ...out, body };
    }
    case 'cut':
      return { ...out, body: real.subarray(0, lie.keep % real.length), honest: false };
    case 'size':
      return { ...out, size: Math.max(0, target.length + lie.by), honest: target.length + lie.by === target.length };
    case 'huge':
      return { ...out, size: max + 1 };
    case 'wrong-blob': {
      const other = Buffer.from(target);
      other[lie.pos % other.length]! ^= 0x01;
      return { ...out, blob: gitBlobId(other) };
    }
    case 'other-base':
      return { ...out, base: gitBlobId(Buffer.concat([base, Buffer.from(' ')])) };
    case 'ops':
      return { ...out, body: Buffer.from(lie.text) };
  }
}

/** A well-formed release proof of `bytes` as rulesets/default.json, tagged v1, and its claim. */
export function releaseProof(bytes: Buffer): { objects: ProofObject[]; claim: ReleaseClaim } {
  const blob = gitBlobId(bytes);
  const entry = (mode: string, name: string, id: string) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), Buffer.from(id, 'hex')]);
  const rulesetsTree = entry('100644', 'default.json', blob);
  const rulesetsId = gitObjectId('tree', rulesetsTree);
  const root = Buffer.concat([entry('100644', 'nft-sync.yaml', OID('e')), entry('40000', 'rulesets', rulesetsId)]);
  const rootId = gitObjectId('tree', root);
  const commit = Buffer.from(`tree ${rootId}\nauthor A <a@example.invalid> 1700000000 +0000\ncommitter A <a@example.invalid> 1700000000 +0000\n\nrules\n`);
  const commitId = gitObjectId('commit', commit);
  const tag = Buffer.from(
    `object ${commitId}\ntype commit\ntag v1\ntagger T <t@example.invalid> 1700000000 +0000\n\nrelease\n-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n`,
  );
  const objects: ProofObject[] = [
    { type: 'tag', id: gitObjectId('tag', tag), content: tag },
    { type: 'commit', id: commitId, content: commit },
    { type: 'tree', id: rootId, content: root },
    { type: 'tree', id: rulesetsId, content: rulesetsTree },
  ];
  return { objects, claim: { ref: 'v1', ruleset: 'default', commit: commitId, blob } };
}

/** One edit of a proof: truncate, drop, swap, flip a byte, forge an object (recomputing its id), or lie in the claim. */
export type ProofEdit =
  | { how: 'truncate'; keep: number }
  | { how: 'drop'; at: number }
  | { how: 'swap'; at: number }
  | { how: 'flip'; at: number; pos: number; byte: number }
  | { how: 'forge'; at: number; pos: number; byte: number }
  | { how: 'id'; at: number }
  | { how: 'extra' }
  | { how: 'claim'; field: 'commit' | 'blob' | 'ref' | 'ruleset' };

export const proofEdit: fc.Arbitrary<ProofEdit> = fc.oneof(
  fc.nat(3).map((keep) => ({ how: 'truncate' as const, keep })),
  fc.nat(3).map((at) => ({ how: 'drop' as const, at })),
  fc.nat(2).map((at) => ({ how: 'swap' as const, at })),
  fc.tuple(fc.nat(3), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, pos, byte]) => ({ how: 'flip' as const, at, pos, byte })),
  fc.tuple(fc.nat(3), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, pos, byte]) => ({ how: 'forge' as const, at, pos, byte })),
  fc.nat(3).map((at) => ({ how: 'id' as const, at })),
  fc.constant({ how: 'extra' as const }),
  fc.constantFrom('commit', 'blob', 'ref', 'ruleset').map((field) => ({ how: 'claim' as const, field: field as 'commit' })),
);

/** Apply `edit` to a copy of a proof; `changed` is false when the edit happened to change nothing. */
export function editProof(proof: { objects: ProofObject[]; claim: ReleaseClaim }, edit: ProofEdit): { objects: ProofObject[]; claim: ReleaseClaim; changed: boolean } {
  const objects = proof.objects.map((o) => ({ ...o, content: Buffer.from(o.content) }));
  const claim = { ...proof.claim };
  switch (edit.how) {
    case 'truncate':
      return { objects: objects.slice(0, edit.keep), claim, changed: true };
    case 'drop':
      objects.splice(edit.at, 1);
      return { objects, claim, changed: true };
    case 'swap': {
      const [a, b] = [objects[edit.at]!, objects[edit.at + 1]!];
      objects[edit.at] = b;
      objects[edit.at + 1] = a;
      return { objects, claim, changed: true };
    }
    case 'flip':
    case 'forge': {
      const o = objects[edit.at]!;
      const i = edit.pos % o.content.length;
      const changed = o.content[i] !== edit.byte;
      o.content[i] = edit.byte;
      if (edit.how === 'forge') o.id = gitObjectId(o.type, o.content);
      return { objects, claim, changed };
    }
    case 'id':
      objects[edit.at]!.id = OID('d');
      return { objects, claim, changed: true };
    case 'extra':
      objects.push({ ...objects[1]! });
      return { objects, claim, changed: true };
    case 'claim':
      claim[edit.field] = edit.field === 'commit' || edit.field === 'blob' ? OID('f') : 'v2';
      return { objects, claim, changed: true };
  }
}
