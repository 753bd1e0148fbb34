/**
 * The one atomic nft transaction that puts a ruleset in force.
 *
 * nft-sync owns whole tables: the ones it put in force before (`owned`: so a table dropped from
 * the ruleset disappears). Each owned table the ruleset declares is replaced wholesale in a
 * single `nft -j -f` batch, which the kernel commits or aborts as a whole, so a host is never
 * left half-configured or without a firewall. A declared table it does not own yet is CREATED:
 * `create table` fails with EEXIST when the table exists, and the whole batch with it, so a
 * table someone else made (fail2ban's `inet f2b-table`, Docker's `ip nat`, kube-proxy's) is
 * never emptied, even when it appears between any check and the apply. Tables nft-sync does not
 * own and the ruleset does not declare are never named in the batch.
 *
 * Why each step is shaped the way it is (all checked against nft 1.0.6):
 * - `add table` before `delete table`: deleting a table that does not exist fails the whole
 *   batch; adding it first makes the delete always valid (no `destroy` in 1.0.6).
 * - `create table` (JSON `{"create":{"table":…}}`, accepted by 1.0.6) for a table not owned:
 *   nft answers `Error: Could not process rule: File exists` and changes nothing if it exists.
 * - `delete table` carries only family and name: a handle from another host would be wrong.
 * - chains before sets and maps: `nft -j list ruleset` prints sets first, and a verdict map
 *   whose elements jump to a chain fails with ENOENT unless the chain exists already.
 * - named objects before sets and maps: object maps (`map: "counter"`) name them in elements.
 * - elements inline in their set (`elem`), never as separate `add element` commands: nft 1.0.6
 *   crashes when a catch-all element goes into an interval set through `add element`.
 * - rules last, in file order, so each chain keeps its rule order.
 * - `handle` is dropped everywhere (handles are the kernel's, per host) and `metainfo` too.
 */
import type { Ruleset, TableRef } from './ruleset-types.js';
import { NAMED_OBJECT_KINDS, itemBody, itemKind, type NamedObjectKind } from './ruleset-items.js';

/** A libnftables JSON command batch, as `nft -j -f` reads it. */
export interface NftCommandBatch {
  nftables: Record<string, unknown>[];
}

const NAMED = new Set<string>(NAMED_OBJECT_KINDS);

function withoutHandle(body: Record<string, unknown>): Record<string, unknown> {
  if (!('handle' in body)) return body;
  const { handle: _handle, ...rest } = body;
  return rest;
}

/**
 * The tables of `declared` that are not in `owned`: the ones a transaction must create (and that
 * must not exist yet). Pure.
 */
export function tablesToCreate(declared: readonly TableRef[], owned: readonly TableRef[]): TableRef[] {
  const have = new Set(owned.map((t) => `${t.family} ${t.name}`));
  return declared.filter((t) => !have.has(`${t.family} ${t.name}`));
}

/**
 * Build the batch that replaces every table of `ruleset` that is in `owned` (the tables this
 * agent manages, plus any it was told to adopt), creates every other table it declares (failing
 * the whole batch with EEXIST if one exists), and deletes every table of `owned` that the ruleset
 * no longer declares. Pure and linear in the ruleset's size. The batch shares expression and
 * element values with `ruleset` (no deep copy, for speed on big sets): serialise it, do not
 * mutate it. Expects a ruleset from parseRuleset; never throws.
 */
export function buildApplyTransaction(ruleset: Ruleset, owned: readonly TableRef[]): NftCommandBatch {
  const tables: Record<string, unknown>[] = [];
  const chains: Record<string, unknown>[] = [];
  const objects: { kind: NamedObjectKind; body: Record<string, unknown> }[] = [];
  const sets: { kind: 'set' | 'map'; body: Record<string, unknown>; key: string }[] = [];
  const extraElements = new Map<string, unknown[][]>();
  const flowtables: Record<string, unknown>[] = [];
  const rules: Record<string, unknown>[] = [];

  for (const item of ruleset.nftables) {
    const kind = itemKind(item);
    const body = itemBody(item);
    switch (kind) {
      case 'metainfo':
        break;
      case 'table':
        tables.push(withoutHandle(body));
        break;
      case 'chain':
        chains.push(withoutHandle(body));
        break;
      case 'rule':
        rules.push(withoutHandle(body));
        break;
      case 'set':
      case 'map':
        sets.push({ kind, body: withoutHandle(body), key: `${String(body.family)} ${String(body.table)} ${String(body.name)}` });
        break;
      case 'element': {
        const key = `${String(body.family)} ${String(body.table)} ${String(body.name)}`;
        const list = extraElements.get(key) ?? [];
        list.push(body.elem as unknown[]);
        extraElements.set(key, list);
        break;
      }
      case 'flowtable':
        flowtables.push(withoutHandle(body));
        break;
      default:
        if (NAMED.has(kind)) objects.push({ kind: kind as NamedObjectKind, body: withoutHandle(body) });
    }
  }

  const cmds: Record<string, unknown>[] = [];
  const ownedKeys = new Set(owned.map((t) => `${t.family} ${t.name}`));
  const seen = new Set<string>();
  const reset = (t: { family: unknown; name: unknown }): void => {
    const key = `${String(t.family)} ${String(t.name)}`;
    if (seen.has(key)) return;
    seen.add(key);
    const id = { family: t.family, name: t.name };
    if (ownedKeys.has(key)) cmds.push({ add: { table: id } }, { delete: { table: id } });
    else cmds.push({ create: { table: id } });
  };
  for (const t of tables) reset(t as { family: unknown; name: unknown });
  for (const t of owned) reset(t);

  for (const t of tables) cmds.push({ add: { table: t } });
  for (const c of chains) cmds.push({ add: { chain: c } });
  for (const o of objects) cmds.push({ add: { [o.kind]: o.body } });
  for (const s of sets) {
    const more = extraElements.get(s.key);
    let body = s.body;
    if (more !== undefined) {
      const elem = [...((body.elem as unknown[] | undefined) ?? []), ...more.flat()];
      body = { ...body, elem };
    }
    cmds.push({ add: { [s.kind]: body } });
  }
  for (const f of flowtables) cmds.push({ add: { flowtable: f } });
  for (const r of rules) cmds.push({ add: { rule: r } });
  return { nftables: cmds };
}
