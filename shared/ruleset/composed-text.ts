/**
 * The effective text of a ruleset stored as a base and element change files (compose-ruleset.ts),
 * followed from one change to the next at the cost of the change rather than of the set. Pure.
 *
 * composeRulesetText parses the base, applies the change files and renders the whole ruleset
 * again: about 3 s for a 1,000,000-element set, at every element change. Here the base is parsed
 * and rendered once; each element change then only updates, per set, the last word on each
 * element it touches (the same net change compose-ruleset.ts reduces the change files to), and
 * the text is spliced from the base's rendered bytes: the base's elements with those deleted left
 * out and those replaced written anew, then the set's new elements, in the order of their last
 * word, then the rest of the base and the pad (text-pad.ts), exactly as composeRulesetText lays
 * them out. A 1,000-element change costs the copy of the text (about 15 ms for 20 MB), not a parse
 * and a render; and as it adds its lines after all that came before, the next text shares those
 * bytes (sharedHead) and, thanks to the pad, its size.
 *
 * Followed sets: a set or map declared once, with a non-empty `elem` of its own and no separate
 * `element` items, whose elements are all distinct and of the types element-value.ts reads
 * (addresses, ports, protocols, marks, interface names and their concatenations; verdict maps),
 * without the interval flag (whose overlap check needs the whole set sorted). A change to any
 * other set, a change file the base does not fit, or a set emptied (its `elem` key goes) is not
 * followed: the caller composes the ruleset whole instead, as before. Neither is a base holding
 * an `element` item without elements (composeRuleset drops it), nor a change nft or the
 * validator must judge: one taking a set past its declared `size` or the text past
 * RULESET_TEXT_LIMITS.maxContainers arrays and objects, or adding a jump or goto to anything but a declared
 * regular chain of the table that jumps nowhere itself (a missing chain, a base chain, a loop),
 * or to a map whose base holds no jump or goto (the depth it is reached at may be the last: nft
 * refuses a jump past 16 levels).
 */
import { SHARED_DEFAULTS } from '../defaults.js';
import { joinPieces, type ShiftedAlloc } from '../bytes/join-pieces.js';
import { sharedBuffer } from '../bytes/spare-buffer.js';
import { checkElementRequest, type ElementChangeRequest, type ElementChangeResult, type SetAddress } from './element-change.js';
import type { ElementChangeFile } from './element-log.js';
import { canonicalJson, elementShape, elementToAdd, elementToDelete, jsonLongerThan, storedElementId, type ElementShape } from './element-value.js';
import { renderRulesetLines } from './render-ruleset.js';
import { copyFloorCount, countAdded, floorBase, newFloorCount, PAD_MAX_BYTES, padBytes, padFloor, padOf, padUnit, type FloorCount } from './text-pad.js';
import { ElementIdIndex, type ElementIdIndexState } from './element-id-index.js';
import { itemBody, itemKind } from './ruleset-items.js';
import { parseRuleset, RULESET_TEXT_LIMITS } from './ruleset-schema.js';
import type { Ruleset } from './ruleset-types.js';

/** Key field and map value types whose elements element-value.ts checks and brings to nft's listed form. */
const READ_TYPES = new Set(['ipv4_addr', 'ipv6_addr', 'inet_service', 'inet_proto', 'ether_addr', 'mark', 'ifname']);

/**
 * The last word of the change files on one element: added with `value` (rendered `body`), or
 * deleted; `k` is its index among the base's elements, -1 when the base lacks it.
 */
type Net = { k: number } & ({ add: true; value: unknown; body: string; replacesBase: boolean } | { add: false });

/**
 * The chunks of `t`'s added region (SetTable.added), brought up to date: the pending lines as one
 * more chunk, or all of them rendered anew as one when it was dropped. In shared memory, as the
 * base is when it came from another thread: the blob-id worker reads them in place
 * (host/blob-id-thread.ts), however many elements the net change adds.
 */
function addedChunks(t: SetTable): Buffer[] {
  const lines = (words: Iterable<Net>): string[] => {
    const out: string[] = [];
    for (const w of words) if (w.k < 0 && w.add) out.push(t.indent + w.body);
    return out;
  };
  if (t.added === undefined) {
    const all = lines(t.net.values());
    t.added = { chunks: all.length > 0 ? [sharedText(all.join(',\n'))] : [], pending: [] };
  } else if (t.added.pending.length > 0) {
    t.added.chunks.push(sharedText(lines(t.added.pending).join(',\n')));
    t.added.pending = [];
  }
  return t.added.chunks;
}

/** `text` as UTF-8 in a new SharedArrayBuffer (a worker thread can read it without a copy). */
function sharedText(text: string): Buffer {
  const bytes = sharedBuffer(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}

/** One followed set or map: where its base elements are in the base text, and the net change. */
interface SetTable {
  at: SetAddress;
  shape: ElementShape;
  /** What precedes each element on its line. */
  indent: string;
  /** Byte offsets in the base text of base element k: its line's start (the indent) and the end of its JSON. */
  starts: Int32Array;
  ends: Int32Array;
  /** Base element id to its index k. */
  ids: ElementIdIndex;
  /** The net change of every change file so far, in compose-ruleset.ts's order (a re-added id moves to the end). */
  net: Map<string, Net>;
  /** The set's declared `size` (nft refuses more elements), if any. */
  size: number | undefined;
  /** Elements the set holds now (base and net change). */
  count: number;
  /**
   * A verdict map whose base holds a jump or goto: the validator loaded it so, so the depth the
   * map is reached at leaves room for one more chain (nft refuses a jump past 16 levels).
   */
  jumps: boolean;
  /**
   * The lines of the elements the net change adds that the base lacks, as pieces() writes them
   * (in the net change's order, `,\n` between each two), kept as chunks of shared memory: the
   * elements a change appends to the net change are rendered once, as a chunk of their own
   * (`pending` until pieces() next runs), not again at every change (64 change files add 64,000
   * lines: 1.6 MB rendered anew each time, and as much garbage). Undefined: rendered anew from
   * `net` by the next pieces() (after a change that moved or dropped one of those lines, or a move
   * to another thread).
   */
  added?: { chunks: Buffer[]; pending: Net[] };
}

const key = (at: SetAddress): string => `${at.family}\0${at.table}\0${at.name}`;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Whether `v` (a rule) holds a jump, a goto or a verdict map anywhere. Iterative: a rule may nest deep. */
function jumpsAnywhere(v: unknown): boolean {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (Array.isArray(x)) for (const y of x) stack.push(y);
    else if (isObject(x)) {
      for (const k of Object.keys(x)) {
        if (k === 'jump' || k === 'goto' || k === 'vmap') return true;
        stack.push(x[k]);
      }
    }
  }
  return false;
}

/** The chain a `jump`/`goto` verdict (as element-value.ts stores it) targets ('' when unreadable), or undefined for another verdict. */
function jumpTarget(data: unknown): string | undefined {
  if (!isObject(data)) return undefined;
  for (const k of ['jump', 'goto']) {
    if (!(k in data)) continue;
    const j = data[k];
    return isObject(j) && typeof j.target === 'string' ? j.target : '';
  }
  return undefined;
}

/** Arrays and objects in JSON text `text` (from `from` to `to`): `{` and `[` outside strings. */
function containersIn(text: Buffer | string, from = 0, to = text.length): number {
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i]!;
  let n = 0;
  let inString = false;
  for (let i = from; i < to; i++) {
    const c = at(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) n++;
  }
  return n;
}

/** Whether element-value.ts reads every field of `shape` (so an element that fits is one nft takes). */
function readsShape(shape: ElementShape): boolean {
  if (shape.interval) return false;
  if (!shape.key.every((t) => READ_TYPES.has(t))) return false;
  return shape.kind === 'set' || shape.data === 'verdict' || READ_TYPES.has(shape.data ?? '');
}

/** A ComposedText as it moves between threads (structured clone; `transfer` lists its buffers). */
export interface ComposedTextState {
  base: Uint8Array;
  sets: Array<{ at: SetAddress; shape: ElementShape; indent: string; starts: Int32Array; ends: Int32Array; ids: ElementIdIndexState; net: Array<[string, Net]>; size: number | undefined; count: number; jumps: boolean }>;
  leafChains: string[];
  maxContainers: number;
  padUnit: number;
  basePad: number | undefined;
  added: FloorCount;
  taken: boolean;
  containers: number;
}

/** Pieces this small are compared by their bytes when their references differ (sharedHead). */
const SMALL_PIECE = 4096;

/** Whether two pieces of texts hold the same bytes by construction: one range of one buffer, or small and equal. */
function samePiece(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.buffer === b.buffer && a.byteOffset === b.byteOffset) return true;
  return a.length <= SMALL_PIECE && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

export class ComposedText {
  private memo: Buffer | undefined;
  /** The last text built and the one before it, with the pieces each was joined from (sharedHead). */
  private built: { text?: Buffer; pieces: Buffer[] } | undefined;
  private builtBefore: { text?: Buffer; pieces: Buffer[] } | undefined;
  /** The pieces of the current text (pieces()), until it changes. */
  private piecesMemo: Buffer[] | undefined;
  /** The last plan's result and the words it worked out for it (applyPlanned), until the text changes. */
  private planned: { result: ElementChangeResult; t: SetTable; words: Array<[string, Net]> } | undefined;
  /** Arrays and objects in the effective text (parseRuleset refuses more than maxContainers). */
  private containers: number;
  /** Bytes of pad (text-pad.ts) at the end of the pieces last found. */
  private padNow = 0;
  /**
   * Whether a change file was taken (apply, applyPlanned), even one with no element (pushed by
   * hand): composeRulesetText then renders and pads, where with none it serves the base file.
   */
  private taken = false;

  private constructor(
    /** renderRuleset's text of the parsed base. */
    private readonly base: Buffer,
    /** Followed sets by address. */
    private readonly tables: Map<string, SetTable>,
    /** Followed sets in text order. */
    private readonly ordered: SetTable[],
    /**
     * Chains (by family, table and name) a verdict map's element may jump or go to without nft's
     * judgement: declared, not base chains, and jumping nowhere themselves (so no loop, no missing target).
     */
    private readonly leafChains: Set<string>,
    /** RULESET_TEXT_LIMITS.maxContainers, or what build was given. */
    private readonly maxContainers: number,
    /** The base file's padUnit (text-pad.ts): the text ends with a pad to a multiple of it; 0: none. */
    private readonly padUnit: number,
    /**
     * The base file is `base` and then this many bytes of pad (padOf's: a text composed here before,
     * stored as the base by a fold), so the text with no change is the base file itself, as
     * composeRulesetText gives it; undefined: it is neither (written otherwise).
     */
    private readonly basePad: number | undefined,
    /** The base's share of the pad's floor and what the change files taken so far added (text-pad.ts padFloor). */
    private readonly added: FloorCount,
    /** Arrays and objects in the text (counted in `base` when not given). */
    containers?: number,
  ) {
    this.containers = containers ?? containersIn(base);
  }

  /**
   * Follow the ruleset whose base file is `base` and whose change files (parsed, in the order
   * they apply) are `changes`. Undefined when it cannot be followed: the base is not a valid
   * ruleset, or a change file changes a set that is not followed or holds an element that does
   * not fit (composeRuleset names the problem then). `limits.maxContainers` (tests): the arrays
   * and objects a text may hold (default RULESET_TEXT_LIMITS's, which parseRuleset enforces).
   * Never throws.
   */
  static build(base: Buffer | string, changes: readonly ElementChangeFile[], limits: { maxContainers?: number } = {}): ComposedText | undefined {
    let ruleset: Ruleset;
    try {
      ruleset = parseRuleset(base);
    } catch {
      return undefined;
    }
    const { text, lines, elemLists } = renderRulesetLines(ruleset);
    const bytes = Buffer.from(text);
    if (bytes.length > 0x7fffffff) return undefined;
    const lineStart = new Int32Array(lines + 1);
    let n = 1;
    for (let p = bytes.indexOf(10); p >= 0 && n < lineStart.length; p = bytes.indexOf(10, p + 1)) lineStart[n++] = p + 1;
    if (n !== lines) return undefined;
    lineStart[lines] = bytes.length + 1;

    const declared = new Map<string, number>();
    const elementItems = new Set<string>();
    const chains = new Map<string, boolean>();
    const jumping = new Set<string>();
    for (const item of ruleset.nftables) {
      const kind = itemKind(item);
      const b = itemBody(item);
      const k = key({ family: String(b.family), table: String(b.table), name: String(b.name) });
      if (kind === 'set' || kind === 'map') declared.set(k, (declared.get(k) ?? 0) + 1);
      if (kind === 'element') {
        // composeRuleset drops an `element` item left without elements: the text would differ.
        if (Array.isArray(b.elem) && b.elem.length === 0) return undefined;
        elementItems.add(k);
      }
      if (kind === 'chain') chains.set(k, chains.get(k) === true || 'hook' in b);
      if (kind === 'rule' && jumpsAnywhere(b)) jumping.add(key({ family: String(b.family), table: String(b.table), name: String(b.chain) }));
    }
    const leafChains = new Set([...chains].filter(([k, base]) => !base && !jumping.has(k)).map(([k]) => k));
    const listOf = new Map<object, (typeof elemLists)[number]>(elemLists.map((l) => [l.parent, l]));
    const tables = new Map<string, SetTable>();
    const ordered: Array<{ table: SetTable; first: number }> = [];
    for (const item of ruleset.nftables) {
      const kind = itemKind(item);
      if (kind !== 'set' && kind !== 'map') continue;
      const b = itemBody(item);
      const at = { family: String(b.family), table: String(b.table), name: String(b.name) };
      const k = key(at);
      const list = listOf.get(b);
      if (list === undefined || declared.get(k) !== 1 || elementItems.has(k)) continue;
      const shape = elementShape(kind, b);
      if (!readsShape(shape)) continue;
      if (b.size !== undefined && (typeof b.size !== 'number' || !Number.isInteger(b.size))) continue;
      const elem = b.elem as unknown[];
      const starts = new Int32Array(list.count);
      const ends = new Int32Array(list.count);
      const idList: string[] = new Array<string>(list.count);
      let ok = true;
      for (let i = 0; i < list.count; i++) {
        const id = storedElementId(shape, elem[i]);
        if (id.startsWith('j:')) {
          ok = false;
          break;
        }
        idList[i] = id;
        starts[i] = lineStart[list.first + i]!;
        ends[i] = lineStart[list.first + i + 1]! - (i < list.count - 1 ? 2 : 1);
      }
      // Two base elements with one id (written two ways): applyElementChange would touch both.
      const ids = ok ? ElementIdIndex.build(idList) : undefined;
      if (ids === undefined) continue;
      const jumps = shape.data === 'verdict' && elem.some((e) => Array.isArray(e) && (jumpTarget(e[1]) !== undefined || (typeof e[1] === 'string' && /^(jump|goto) /.test(e[1]))));
      const table: SetTable = { at, shape, indent: list.indent, starts, ends, ids, net: new Map(), size: b.size as number | undefined, count: list.count, jumps };
      tables.set(k, table);
      ordered.push({ table, first: list.first });
    }
    ordered.sort((a, b) => a.first - b.first);
    const raw = typeof base === 'string' ? Buffer.from(base) : base;
    let basePad: number | undefined;
    if (raw.length >= bytes.length && raw.compare(bytes, 0, bytes.length, 0, bytes.length) === 0) {
      const n = raw.length - bytes.length;
      // (Never more than a pad can be: padOf keeps what it makes.)
      if (n === 0 || (n <= PAD_MAX_BYTES && raw.subarray(bytes.length).equals(padOf(n)))) basePad = n;
    }
    const composed = new ComposedText(bytes, tables, ordered.map((o) => o.table), leafChains, limits.maxContainers ?? RULESET_TEXT_LIMITS.maxContainers, padUnit(raw.length), basePad, newFloorCount(floorBase(raw, () => bytes.length)));
    for (const change of changes) if (!composed.apply(change)) return undefined;
    return composed;
  }

  /**
   * What another thread needs to take this over (ComposedText.fromState), and the buffers it may
   * transfer rather than copy (this one is then unusable). Pure.
   */
  state(): { state: ComposedTextState; transfer: ArrayBuffer[] } {
    // Shared memory: the taker's texts are hashed from their pieces in a worker (host/blob-id-thread.ts idOfPieces).
    const base = new Uint8Array(new SharedArrayBuffer(Math.max(this.base.length, 1)), 0, this.base.length);
    base.set(this.base);
    const sets = this.ordered.map((t) => ({ at: t.at, shape: t.shape, indent: t.indent, starts: t.starts, ends: t.ends, ids: t.ids.state, net: [...t.net], size: t.size, count: t.count, jumps: t.jumps }));
    const transfer = [base.buffer, ...sets.flatMap((x) => [x.starts.buffer, x.ends.buffer, x.ids.offsets.buffer, x.ids.slots.buffer])].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
    return { state: { base, sets, leafChains: [...this.leafChains], maxContainers: this.maxContainers, padUnit: this.padUnit, basePad: this.basePad, added: copyFloorCount(this.added), taken: this.taken, containers: this.containers }, transfer: [...new Set(transfer)] };
  }

  /** The ComposedText whose state() another thread sent. */
  static fromState(state: ComposedTextState): ComposedText {
    const ordered = state.sets.map((x): SetTable => ({ at: x.at, shape: x.shape, indent: x.indent, starts: x.starts, ends: x.ends, ids: ElementIdIndex.from(x.ids), net: new Map(x.net), size: x.size, count: x.count, jumps: x.jumps }));
    const base = Buffer.from(state.base.buffer, state.base.byteOffset, state.base.byteLength);
    const composed = new ComposedText(base, new Map(ordered.map((t) => [key(t.at), t])), ordered, new Set(state.leafChains), state.maxContainers, state.padUnit, state.basePad, copyFloorCount(state.added), state.containers);
    composed.taken = state.taken;
    return composed;
  }

  /** Whether changes to the set or map `at` are followed here. */
  follows(at: SetAddress): boolean {
    return this.tables.has(key(at));
  }

  /**
   * What `req` would change of the followed set `at`, decided exactly as applyElementChange
   * decides it on the effective ruleset (element-change.ts): elements really added (absent, or
   * present with another timeout, comment or value) and really deleted (as they are stored).
   * Nothing is changed here: apply the change file of the result to take it. Undefined when `at`
   * is not followed, or when nft must judge the change (compose and validate whole then): it
   * would take the set past its declared `size` or the text past maxContainers arrays and
   * objects, or it adds a jump or goto to a chain that is not a declared regular chain of the
   * table jumping nowhere itself, or to a map whose base holds none. Errors:
   * NFTSYNC_ERR_ELEMENT_INVALID, as applyElementChange's.
   */
  plan(at: SetAddress, req: ElementChangeRequest): ElementChangeResult | undefined {
    const t = this.tables.get(key(at));
    if (t === undefined) return undefined;
    this.planned = undefined;
    const { adds, deletes } = checkElementRequest(t.shape, at, req);
    const added: unknown[] = [];
    const deleted: unknown[] = [];
    // What apply would take from the change file of the result (applyPlanned takes these).
    const words: Array<[string, Net]> = [];
    let containers = this.containers;
    const sizeOf = (v: unknown): number => containersIn(JSON.stringify(v));
    for (const id of deletes) {
      const current = this.current(t, id);
      if (current === undefined) continue;
      deleted.push(current.value);
      words.push([id, { k: t.ids.get(id) ?? -1, add: false }]);
      containers -= sizeOf(current.value);
    }
    let count = t.count - deleted.length;
    for (const [id, value] of adds) {
      const current = this.current(t, id);
      if (current === undefined) count++;
      if (current === undefined || canonicalJson(current.value) !== canonicalJson(value)) {
        const word = this.addWord(t, id, value);
        added.push(value);
        words.push([id, word]);
        containers += containersIn(word.body) - (current === undefined ? 0 : sizeOf(current.value));
      }
    }
    if (t.size !== undefined && count > t.size) return undefined;
    if (containers > this.maxContainers) return undefined;
    if (t.shape.data === 'verdict') {
      for (const value of added) {
        const target = jumpTarget((value as unknown[])[1]);
        if (target !== undefined && (!t.jumps || !this.leafChains.has(key({ family: at.family, table: at.table, name: target })))) return undefined;
      }
    }
    const result = { kind: t.shape.kind, added, deleted };
    this.planned = { result, t, words };
    return result;
  }

  /** The word of adding `value` (canonical, id `id`) to `t`: where the base holds it, and whether it replaces the base's. */
  private addWord(t: SetTable, id: string, value: unknown): Net & { add: true; body: string } {
    const body = JSON.stringify(value);
    const k = t.ids.get(id) ?? -1;
    const replacesBase = k >= 0 && canonicalJson(JSON.parse(this.base.toString('utf8', t.starts[k]! + t.indent.length, t.ends[k]))) !== canonicalJson(value);
    return { k, add: true, value, body, replacesBase };
  }

  /** The element `id` of `t` as the effective ruleset holds it, or undefined when absent. */
  private current(t: SetTable, id: string): { value: unknown } | undefined {
    const net = t.net.get(id);
    const k = net?.k ?? t.ids.get(id) ?? -1;
    if (net !== undefined && (!net.add || net.replacesBase || k < 0)) return net.add ? { value: net.value } : undefined;
    if (k < 0) return undefined;
    return { value: JSON.parse(this.base.toString('utf8', t.starts[k]! + t.indent.length, t.ends[k])) };
  }

  /**
   * Take one more change file, as composeRuleset applies it after the others: its deletes, then
   * its adds, each the last word on its element. False (and nothing changed) when its set is not
   * followed or an element does not fit; the caller then composes whole. Never throws.
   */
  apply(change: ElementChangeFile): boolean {
    const t = this.tables.get(key(change.set));
    if (t === undefined) return false;
    const maxChars = SHARED_DEFAULTS.elements.maxElementChars;
    const words: Array<[string, Net]> = [];
    for (const raw of change.delete) {
      const c = jsonLongerThan(raw, maxChars) ? undefined : elementToDelete(t.shape, raw);
      if (!c?.ok) return false;
      words.push([c.value, { k: t.ids.get(c.value) ?? -1, add: false }]);
    }
    for (const raw of change.add) {
      const c = jsonLongerThan(raw, maxChars) ? undefined : elementToAdd(t.shape, raw);
      if (!c?.ok) return false;
      words.push([c.value.id, this.addWord(t, c.value.id, c.value.value)]);
    }
    this.take(t, words);
    return true;
  }

  /**
   * Take the change `result`, the last plan() made, as apply() takes its change file (render
   * it with renderChangeFile and store that): the elements were checked by the plan, and are not
   * checked again. False (and nothing changed) when `result` is not the last plan's, or the text
   * changed since; the caller then applies the change file. Never throws.
   */
  applyPlanned(result: ElementChangeResult): boolean {
    const planned = this.planned;
    if (planned === undefined || planned.result !== result) return false;
    this.take(planned.t, planned.words);
    return true;
  }

  /** Take `words` (deletes first, then adds, each the last word on its element) into `t`'s net change. */
  private take(t: SetTable, words: ReadonlyArray<[string, Net]>): void {
    this.planned = undefined;
    this.taken = true;
    for (const [id, word] of words) {
      const net = t.net.get(id);
      const k = word.k;
      const before = net !== undefined ? net.add : k >= 0;
      t.count += Number(word.add) - Number(before);
      const was = net !== undefined ? (net.add ? containersIn(net.body) : 0) : k >= 0 ? containersIn(this.base, t.starts[k]! + t.indent.length, t.ends[k]) : 0;
      this.containers += (word.add ? containersIn(word.body) : 0) - was;
      t.net.delete(id);
      t.net.set(id, word);
      if (word.add) countAdded(this.added, key(t.at), id, Buffer.byteLength(word.body));
      // A line of the added region goes or moves (re-added at the end): render it anew. A new one: one more at its end.
      if (k < 0 && net?.add) t.added = undefined;
      else if (k < 0 && word.add) t.added?.pending.push(word);
    }
    this.memo = undefined;
    this.piecesMemo = undefined;
  }

  /** Elements the net change holds over all followed sets (what following costs in memory, beyond the base). */
  get netSize(): number {
    let n = 0;
    for (const t of this.ordered) n += t.net.size;
    return n;
  }

  /**
   * The effective ruleset's text: what composeRulesetText gives for the base and every change
   * file applied, byte for byte. Undefined when a followed set has no element left (its `elem`
   * key goes: compose whole). The Buffer is kept until the next apply (a second call returns
   * it): do not modify it.
   *
   * `alloc(size, shift)`, when given, makes the memory the text is written into (join-pieces.ts
   * ShiftedAlloc: `size` bytes starting at `shift` modulo 8, so the base's big runs are copied at
   * full speed), such as a prepared SpareBuffer's (shared/bytes/spare-buffer.ts), whose pages are
   * already touched, so the text costs a copy rather than the page faults of fresh memory.
   * Without it, fresh memory. The pieces it joins: pieces(). Throws RangeError when `alloc` gives
   * another size.
   */
  text(alloc?: ShiftedAlloc): Buffer | undefined {
    if (this.memo !== undefined) return this.memo;
    const pieces = this.pieces();
    if (pieces === undefined) return undefined;
    this.memo = joinPieces(pieces, alloc && { alloc });
    this.built!.text = this.memo;
    return this.memo;
  }

  /**
   * Take `bytes` as the current text, joined elsewhere from `pieces` (what pieces() gave; e.g. by
   * the worker that hashes them: host/blob-id-thread.ts joinInto): text() returns them from now
   * on, and sharedHead counts them as the text joined. The caller vouches that they hold the pieces
   * joined, byte for byte. False, and nothing taken, when the text changed since those pieces
   * were found, it is joined already, or `bytes` is not their size. Never throws.
   */
  joined(pieces: readonly Buffer[], bytes: Buffer): boolean {
    if (pieces !== this.piecesMemo || this.memo !== undefined || this.built?.pieces !== pieces) return false;
    if (bytes.length !== pieces.reduce((n, p) => n + p.length, 0)) return false;
    this.memo = bytes;
    this.built.text = bytes;
    return true;
  }

  /**
   * The pieces the current text is joined from (text()), without joining them: subarrays of the
   * base (in shared memory when this came from another thread: fromState) and small new Buffers;
   * do not change them. The same array until the text changes. Undefined when text() would be.
   * Lets the caller work on the text before the 25 MB copy (its hash: host/blob-id-thread.ts
   * idOfPieces; its delta: sharedHead, shared/wire/window-delta.ts with the tail alone). Never throws.
   */
  pieces(): readonly Buffer[] | undefined {
    if (this.piecesMemo !== undefined) return this.piecesMemo;
    const pieces: Buffer[] = [];
    const SEP = Buffer.from(',\n');
    let pos = 0;
    for (const t of this.ordered) {
      if (t.net.size === 0) continue;
      const count = t.starts.length;
      const touched: Array<[number, Net]> = [];
      for (const word of t.net.values()) if (word.k >= 0 && (!word.add || word.replacesBase)) touched.push([word.k, word]);
      const region: Buffer[] = [];
      touched.sort((a, b) => a[0] - b[0]);
      let from = 0;
      for (const [k, word] of touched) {
        if (k > from) region.push(this.base.subarray(t.starts[from], t.ends[k - 1]));
        if (word.add) region.push(Buffer.from(t.indent + word.body));
        from = k + 1;
      }
      if (from < count) region.push(this.base.subarray(t.starts[from], t.ends[count - 1]));
      // The new elements' lines after the base's, as chunks (t.added), each one piece.
      region.push(...addedChunks(t));
      if (region.length === 0) return undefined;
      pieces.push(this.base.subarray(pos, t.starts[0]));
      region.forEach((r, i) => {
        if (i > 0) pieces.push(SEP);
        pieces.push(r);
      });
      pos = t.ends[count - 1]!;
    }
    pieces.push(this.base.subarray(pos));
    // No change file yet: the base file itself, when it is the base's text and a pad (a fold's).
    // (A change file with no element leaves every net change empty, yet the text is padded anew.)
    const pad = this.taken ? padBytes(pieces.reduce((n, p) => n + p.length, 0), this.padUnit, padFloor(this.added)) : (this.basePad ?? 0);
    if (pad > 0) pieces.push(padOf(pad));
    this.padNow = pad;
    this.piecesMemo = pieces;
    this.builtBefore = this.built;
    this.built = { pieces };
    return pieces;
  }

  /**
   * Bytes of pad (text-pad.ts: lines of spaces) the current text ends with (its pieces() are found
   * now if they were not); 0 for a base under PAD_MIN_BASE_BYTES, or when text() is undefined.
   */
  get pad(): number {
    return this.pieces() === undefined ? 0 : this.padNow;
  }

  /**
   * Bytes at the start of the current text (whose pieces() were found; joined or not yet) known
   * equal to the start of `previous` without comparing them: the length of the pieces both were
   * joined from that are one range of one buffer (or small and equal), counted from the start. A
   * change that only adds new elements leaves everything before them as it was (the base's
   * elements, the chunks earlier changes added), so this is all but its own lines, what follows
   * them and the pad. `previous` must be the text text() joined before the current one (or took:
   * joined), unmodified (texts are handed out not to be modified); any other Buffer gets 0, as
   * does a text whose pieces were not found. Costs a few comparisons of small pieces. Never throws.
   */
  sharedHead(previous: Buffer): number {
    const now = this.built;
    const before = this.builtBefore;
    if (now === undefined || now.pieces !== this.piecesMemo) return 0;
    if (now.text !== undefined && previous === now.text) return now.text.length;
    if (before === undefined || before.text !== previous) return 0;
    let n = 0;
    for (let i = 0; i < now.pieces.length && i < before.pieces.length && samePiece(now.pieces[i]!, before.pieces[i]!); i++) n += now.pieces[i]!.length;
    return n;
  }
}
