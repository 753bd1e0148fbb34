/**
 * The element API's fast path: a change to a big set costs what it changes, not what the set
 * holds.
 *
 * The whole path (server/git/set-elements.ts) reads the branch's ruleset, composes and parses it,
 * renders it and has the push validator load it into a scratch namespace and list it back: about
 * a minute for a 1,000,000-element set, at every change. Here the server keeps, per branch and
 * ruleset, the tip it last committed to or read: the stored files' ids and trees, and the
 * effective text followed change by change (shared/ruleset/composed-text.ts). A change is then
 * checked against the set's declaration (the element checks of shared/ruleset/element-value.ts,
 * the same as the whole path's: once, by the plan, whose words the followed text then takes:
 * ComposedText.applyPlanned), written as one change file, trees and a commit in process
 * (server/git/loose-object.ts), and the branch moved by compare-and-swap with `git update-ref
 * NEW OLD`. The new revision's text and blob id are handed to the repository reader before the
 * branch moves (RulesetRepository.primeComposed; the id may still be on its way from the worker,
 * and the reader's callers then wait for it), so the agents that fetch it at once get it from
 * memory, as a delta against the revision they hold.
 *
 * What agents wait for is kept short (from the request to the delta sent, for a 1,000-element
 * change to a 1,000,000-element set): the text is written into memory prepared while the server
 * was idle (shared/bytes/spare-buffer.ts: a copy, not 25 MB of page faults, unless a child
 * process started since left its pages copy-on-write); its blob id is
 * computed in a worker (`blobIds`, host/blob-id-thread.ts) while the event loop writes the git
 * objects and works out the delta from the revision agents hold (shared/wire/window-delta.ts
 * when the change is one block of lines, as adds are, else encodeRulesetDelta; `delta`: handed to
 * the wire server with the id, before anyone reads it, so their fetches are answered at once);
 * the branch moves without waiting for the id, and once it moved, `moved` has the server's ref
 * watcher look now, so agents are told without waiting for the file event.
 *
 * What is not loaded into a scratch namespace here: elements of the types element-value.ts reads
 * (addresses, ports, protocols, marks, interface names, their concatenations, verdicts), whose
 * canonical form is the one nft lists; the set's declaration and the rest of the ruleset were
 * loaded by the validator when they were pushed. Everything else takes the whole path: a set of
 * another type, an interval set, a set without elements, a change that empties a set, a branch
 * moved by a push that changed the ruleset (the tip is then read again, once), a change file that
 * does not fit, and the changes whose refusal only nft knows (past the set's `size`; a jump or
 * goto to anything but a declared regular chain that jumps nowhere: composed-text.ts plan).
 *
 * The first change after a push of the ruleset or a fold reads and renders the ruleset once (a
 * few seconds for 1,000,000 elements, in the repository's worker thread when the server passes
 * `follow`, so the event loop goes on serving); the following ones do not. After a start, `warm`
 * does that for a branch's big rulesets before anyone asks.
 */
import { NftSyncError } from '../../shared/errors.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { gitObjectId, serializeCommit, serializeTree, type TreeEntry } from '../../shared/git/git-objects.js';
import { ComposedText } from '../../shared/ruleset/composed-text.js';
import { SpareBuffer, sharedBuffer } from '../../shared/bytes/spare-buffer.js';
import { joinLayout, shiftedBuffer } from '../../shared/bytes/join-pieces.js';
import { encodeRulesetDelta } from '../../shared/wire/ruleset-delta.js';
import { windowDelta } from '../../shared/wire/window-delta.js';
import type { BlobIdThread } from '../../host/blob-id-thread.js';
import { changeFileName, elementsDirName, parseChangeFile, renderChangeFile } from '../../shared/ruleset/element-log.js';
import { updateRef } from '../../host/run-git.js';
import type { RefUpdater } from '../../host/ref-updater.js';
import { SERVER_DEFAULTS } from '../defaults.js';
import { commitIdentity, gitOutput, readBranch } from './branch-commit.js';
import { foldDue } from './fold-due.js';
import { LooseObjectBatch } from './loose-object.js';
import type { ElementChangeRequest, SetAddress } from '../../shared/ruleset/element-change.js';
import { readStoredRuleset, type StoredRuleset } from './stored-ruleset.js';
import { isRulesetName } from '../../shared/ruleset/names.js';

/** What a tip keeps of the stored files (ids and sizes; no bytes). */
interface TipFiles {
  base: { blob: string; mode: string };
  changes: Array<{ file: string; blob: string; size: number }>;
  elementsEntries: TreeEntry[];
  rootEntries: TreeEntry[];
  rulesetsEntries: TreeEntry[];
  baseSize: number;
}

interface Tip {
  /** The branch commit the tip describes. */
  commit: string;
  files: TipFiles;
  /** The text followed; undefined after a fold (built anew from the folded base: `building`). */
  composed?: ComposedText;
  /** After a fold: the tip of the folded base, being built (in the worker) since the fold. */
  building?: Promise<ComposedText | undefined>;
  /**
   * The text and blob id handed to the reader for this commit, when this server made it (and its
   * lines, when counted; and the bytes of pad it ends with: shared/ruleset/text-pad.ts).
   */
  served?: { bytes: Buffer; blob: string; lines?: number; pad: number };
}

/**
 * A base this big has its texts hashed in the worker (BlobIdThread hashes under 1 MiB here): start
 * it with the tip. Texts this big, only, are written into prepared memory (`spare`).
 */
const WARM_BYTES = 1 << 20;

/** The tail of a text (its bytes after the head shared with the last, and the pad) the `ahead` delta is found from before the copy, at most. */
const AHEAD_TAIL_MAX = 8 << 20;

/** The bytes of the text `pieces` make from offset `from` on. */
function tailOf(pieces: readonly Buffer[], from: number): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const p of pieces) {
    if (at + p.length > from) parts.push(at >= from ? p : p.subarray(from - at));
    at += p.length;
  }
  return Buffer.concat(parts);
}

/** Elements a followed net change may hold before the tip is read again from the (folded) base. */
const NET_MAX = 200_000;

export interface ElementTipsOptions {
  /** The repository's git directory. */
  gitdir: string;
  /**
   * Hand a revision's text and blob id to the repository reader (RulesetRepository.primeComposed):
   * the id still on its way (a promise) when it is computed in the worker (`blobIds`).
   */
  prime?: (base: string, changes: readonly string[], bytes: Buffer | Promise<Buffer>, blob: string | Promise<string>) => void;
  /**
   * Say what a new commit holds: a child of `parent` that changed the stored files of `ruleset`
   * alone, to base blob `base` and change files `changes` (RulesetRepository.primeChild), before
   * the branch moves to it. Must not throw.
   */
  primeChild?: (commit: string, parent: string, ruleset: string, base: string, changes: ReadonlyArray<{ file: string; oid: string }>) => void;
  /** Tips kept at most, the least recently used dropped first (default: SERVER_DEFAULTS.elementLog.maxTips). */
  maxTips?: number;
  /**
   * Build a tip (RulesetRepository.followText: a big set in a worker thread). Default:
   * ComposedText.build here, on the event loop.
   */
  follow?: (base: Buffer, changes: readonly Buffer[]) => Promise<ComposedText | undefined>;
  /** Moves the branch (a long-lived `git update-ref --stdin`: host/ref-updater.ts). Default: one `git update-ref` per change. */
  refs?: RefUpdater;
  /**
   * Computes the new text's blob id in a worker thread (it reads the text in place), while this
   * thread writes the objects and the delta. Default: here, before the objects are written.
   */
  blobIds?: BlobIdThread;
  /**
   * Takes the delta (shared/wire/ruleset-delta.ts encodeRulesetDelta) from the text of blob
   * `base`, the revision this server made last (the one its agents hold), to that of blob
   * `target`, the new one; undefined: no delta worth sending. Called as soon as the new blob id
   * is known, before the repository reader gives that id to anyone (a fetch of the new revision
   * waits for it), so an agent's fetch finds the delta ready (the wire server's
   * AnswerFrames.primeDelta). Not called when this server did not make the revision before
   * (after a start, a push, a whole-path change). Must not throw.
   */
  delta?: (base: string, target: string, delta: Buffer | undefined) => void;
  /**
   * Called before the branch `ref` moves from `parent` to `commit` (the frame is for that commit
   * only: should the compare-and-swap fail, agents drop it), as soon as the delta that turns the
   * revision this server made last (blob `base` of ruleset `ruleset` at `parent`, the one its
   * agents hold) into the new one (`target` bytes) is known, mostly before the new text is even
   * copied: the wire server sends it at once to the agents that asked (WireServer.ahead), and
   * with `moved` to the others, so they rebuild and hash the bytes while this server still copies
   * and hashes them for the blob id their fetch's answer carries. Must not throw.
   */
  ahead?: (ref: string, commit: string, ahead: { parent: string; ruleset: string; base: string; target: number; delta: Buffer }) => void;
  /**
   * Called once the branch `ref` moved from `old` to `commit` (the server's
   * RefWatcher.refsWritten: agents are told at once, not after the file event). Must not throw.
   */
  moved?: (ref: string, commit: string, old: string) => void;
  /**
   * Ms after a change before memory for the next text is prepared (its pages touched: about
   * 15 ms of the event loop for 25 MB), so that work stays out of the agents' fetches that follow
   * the change. Default SERVER_DEFAULTS.elementLog.spareDelayMs.
   */
  spareDelayMs?: number;
}

/** A change as set-elements.ts's request carries it (SetElementsRequest has these fields). */
export interface TipRequest extends ElementChangeRequest {
  branch: string;
  ruleset: string;
  set: SetAddress;
  owner: string;
  beforeUpdate?: (attempt: number) => Promise<void> | void;
}

/** What a change made (set-elements.ts SetElementsResult is this). */
export interface ElementCommit {
  branch: string;
  /** The new commit, or the branch's commit when nothing changed. */
  commit: string;
  /** The branch's commit the change was built on. */
  previous: string;
  kind: 'set' | 'map';
  /** Elements really added (or replaced: another timeout or map value) and really deleted. */
  added: number;
  deleted: number;
  attempts: number;
  /** Change files folded into `rulesets/NAME.json` by this commit (this change's included); 0 or absent when none. */
  folded?: number;
}

/** How the fast path ended: committed (or nothing to change), the branch moved (try again), or not taken. */
export type TipOutcome = { done: ElementCommit } | 'moved' | undefined;

function filesOf(stored: StoredRuleset): TipFiles {
  return {
    base: { blob: stored.base.blob, mode: stored.base.mode },
    changes: stored.changes.map((c) => ({ file: c.file, blob: c.blob, size: c.bytes.length })),
    elementsEntries: stored.elementsEntries,
    rootEntries: stored.rootEntries,
    rulesetsEntries: stored.rulesetsEntries,
    baseSize: stored.base.bytes.length,
  };
}

const sameFiles = (a: TipFiles, b: StoredRuleset): boolean =>
  a.base.blob === b.base.blob && a.changes.length === b.changes.length && a.changes.every((c, i) => c.blob === b.changes[i]!.blob && c.file === b.changes[i]!.file);

/** `entries` with `name` replaced by (or given) `entry`, or removed when undefined. */
function withEntry(entries: readonly TreeEntry[], name: string, entry: Omit<TreeEntry, 'name'> | undefined): TreeEntry[] {
  const kept = entries.filter((e) => e.name !== name);
  return entry === undefined ? kept : [...kept, { ...entry, name }];
}

export class ElementTips {
  private readonly tips = new Map<string, Tip>();
  /** Memory for the next text, its pages touched while idle (one for all tips: texts are made one at a time). */
  private readonly spare = new SpareBuffer();
  /** The spare's preparation, scheduled after a change; the size it prepares for. */
  private spareTimer: NodeJS.Timeout | undefined;
  private spareSize = 0;
  /** close() was called: no tip kept, no memory prepared from now on. */
  private closed = false;

  constructor(private readonly options: ElementTipsOptions) {}

  /** Bytes held ready for the next text (0: none; tests). */
  get spareBytes(): number {
    return this.spare.capacity;
  }

  /** Prepare the spare for a text of about `size` bytes, spareDelayMs from now (once, if several changes come first). */
  private prepareSpare(size: number): void {
    if (this.closed) return;
    this.spareSize = size;
    if (this.spareTimer !== undefined) return;
    this.spareTimer = setTimeout(() => {
      this.spareTimer = undefined;
      this.spare.prepare(this.spareSize);
    }, this.options.spareDelayMs ?? SERVER_DEFAULTS.elementLog.spareDelayMs);
    this.spareTimer.unref();
  }

  /**
   * Let go of the tips, the spare and its timer (the app closes); a tip still being warmed or a
   * change still in flight keeps nothing and prepares nothing after this.
   */
  close(): void {
    this.closed = true;
    this.tips.clear();
    clearTimeout(this.spareTimer);
    this.spareTimer = undefined;
    this.spare.prepare(0);
  }

  /** Tips kept now (at most maxTips). */
  get size(): number {
    return this.tips.size;
  }

  /** Keep `tip` as the most recently used, dropping the least recently used past maxTips. */
  private keep(id: string, tip: Tip): void {
    if (this.closed) return;
    this.tips.delete(id);
    this.tips.set(id, tip);
    const max = this.options.maxTips ?? SERVER_DEFAULTS.elementLog.maxTips;
    for (const oldest of this.tips.keys()) {
      if (this.tips.size <= max) break;
      this.tips.delete(oldest);
    }
  }

  /**
   * Make `req`'s change on branch `ref` (a full `refs/heads/…` name) at its commit `old`, the fast
   * way, when it can be: `{done}` with the result (the branch moved to the new commit, or nothing
   * to change), 'moved' when the branch moved under the compare-and-swap (read it and try again),
   * undefined when the change must take the whole path (see the file's header).
   * Errors: NFTSYNC_ERR_ELEMENT_INVALID (an element does not fit the set: the message names it),
   * NFTSYNC_ERR_REPO_GIT_FAILED.
   */
  async change(req: TipRequest, ref: string, old: string, attempt: number, commitMessage: (kind: string, added: readonly unknown[], deleted: readonly unknown[], folded: number) => string): Promise<TipOutcome> {
    const id = `${ref}\0${req.ruleset}`;
    // Taken out of the map while this change uses it: a concurrent change (another caller, a
    // branch named otherwise) reads its own rather than plan on a text this one is changing.
    const tip = await this.tipAt(id, req.ruleset, old);
    if (tip === undefined) return undefined;
    const giveBack = (): void => {
      if (!this.tips.has(id)) this.keep(id, tip);
    };
    let change;
    try {
      change = tip.composed.plan(req.set, req);
    } catch (err) {
      giveBack();
      throw err;
    }
    if (change === undefined || (change.added.length === 0 && change.deleted.length === 0)) {
      giveBack();
      if (change === undefined) return undefined;
      return { done: { branch: req.branch, commit: old, previous: old, kind: change.kind, added: 0, deleted: 0, attempts: attempt } };
    }
    const text = Buffer.from(renderChangeFile(req.set, change.added, change.deleted));
    // From here the tip is changed: any way out but success forgets it. The file as stored must
    // read back (the whole path and every reader parse it): checked below, once the worker has the
    // new text; its elements, which the plan checked, are not checked again (applyPlanned: 5-10 ms
    // for 1,000 of them).
    let readBack = false;
    if (!tip.composed.applyPlanned(change)) {
      if (!tip.composed.apply(parseChangeFile(text))) return undefined;
      readBack = true;
    }
    const { gitdir } = this.options;
    const algorithm = objectIdAlgorithm(old);
    const f = tip.files;
    const { fold, files, next } = foldDue({ changes: f.changes, elementsEntries: f.elementsEntries.length, baseSize: f.baseSize }, text.length);
    // Only a big text goes into prepared memory (a small one would keep a block of over 1 MiB alive).
    const alloc = (size: number, shift: number): Buffer => (size >= WARM_BYTES ? this.spare.take(size, shift) : shiftedBuffer(size, shift));
    const dir = elementsDirName(req.ruleset);
    const objects = new LooseObjectBatch(gitdir, algorithm);
    let newFiles: TipFiles;
    // A fold stores the text as the base blob (and has its id from that): it is joined first. A
    // change file is stored otherwise, and the text is worked on from its pieces: the worker joins
    // them as it hashes them for the blob id (`joining`: one pass over the 25 MB, none of it on
    // this thread), while this thread writes the objects and (below) finds the agents' delta and
    // sends it ahead of the commit.
    let bytes: Buffer | undefined;
    let pieces: readonly Buffer[] | undefined;
    let hashing: Promise<string> | string | undefined;
    let joining: Promise<Buffer> | undefined;
    let shared: number | undefined;
    if (fold) {
      bytes = tip.composed.text(alloc);
      if (bytes === undefined) return undefined;
      const base = objects.add('blob', bytes);
      newFiles = { ...f, base: { blob: base, mode: f.base.mode }, changes: [], elementsEntries: [], baseSize: bytes.length };
      newFiles.rulesetsEntries = withEntry(withEntry(f.rulesetsEntries, `${req.ruleset}.json`, { mode: f.base.mode, id: base }), dir, undefined);
    } else {
      pieces = tip.composed.pieces();
      if (pieces === undefined) return undefined;
      // What the new text shares with the one agents hold: its hash goes on from there (the pad
      // keeps the size), and its delta is found after it.
      shared = tip.served && tip.composed.sharedHead(tip.served.bytes);
      const resume = tip.served && shared ? { blob: tip.served.blob, same: shared } : undefined;
      // A change that deletes is found in two places, mostly: its delta is worked out on the whole
      // text, joined here then (not waiting for the worker's hash), as before.
      ({ hashing, joining } = this.joinAndHash(tip.composed, pieces, algorithm, alloc, change.deleted.length === 0, resume));
      const blob = objects.add('blob', text);
      const name = changeFileName(next);
      const elementsEntries = withEntry(f.elementsEntries, name, { mode: '100644', id: blob });
      const elements = objects.add('tree', serializeTree(elementsEntries));
      newFiles = { ...f, changes: [...f.changes, { file: name, blob, size: text.length }], elementsEntries };
      newFiles.rulesetsEntries = withEntry(f.rulesetsEntries, dir, { mode: '40000', id: elements });
    }
    if (!readBack) parseChangeFile(text);
    const rulesets = objects.add('tree', serializeTree(newFiles.rulesetsEntries));
    newFiles.rootEntries = withEntry(f.rootEntries, 'rulesets', { mode: '40000', id: rulesets });
    const root = objects.add('tree', serializeTree(newFiles.rootEntries));
    const now = Date.now() / 1000;
    const message = commitMessage(change.kind, change.added, change.deleted, fold ? files : 0);
    // Who the whole path's `git commit-tree` names: the token's owner as author, nft-sync as committer.
    const who = commitIdentity(req.owner);
    const author = { name: who.GIT_AUTHOR_NAME!, email: who.GIT_AUTHOR_EMAIL!, seconds: now };
    const committer = { name: who.GIT_COMMITTER_NAME!, email: who.GIT_COMMITTER_EMAIL!, seconds: now };
    const commit = objects.add('commit', serializeCommit({ tree: root, parents: [old], author, committer, message }));
    const held = tip.served;
    const counts = { added: change.added.length, deleted: change.deleted.length };
    // One block of new lines (adds: a set's new elements come after its others) and the pad are
    // found without a line walk. What the two texts share at their start by construction (the
    // base's elements, the lines earlier changes added) is not compared again, and not even copied
    // yet: the window is found from the tail of the text alone, and the agents that hold the
    // revision before are sent it at once (`ahead`), so they rebuild and hash the new bytes while
    // this server copies and hashes them.
    let window: { delta: Buffer; lines: number } | undefined;
    let sentAhead = false;
    const size = bytes?.length ?? pieces!.reduce((n, p) => n + p.length, 0);
    const pads = { base: held?.pad ?? 0, target: tip.composed.pad };
    if (pieces !== undefined && held !== undefined && (this.options.delta || this.options.ahead)) {
      const known = shared ?? 0;
      const from = known === 0 ? 0 : held.bytes.lastIndexOf(10, known - 1) + 1;
      if (size - from <= AHEAD_TAIL_MAX) window = windowDelta(held.bytes, tailOf(pieces, from), counts, { baseLines: held.lines, knownPrefix: known, targetFrom: from, pads });
      if (window !== undefined) {
        this.options.ahead?.(ref, commit, { parent: old, ruleset: req.ruleset, base: held.blob, target: size, delta: window.delta });
        sentAhead = true;
      }
    }
    // The objects written (small ones here, a fold's base on the thread pool) while the worker hashes.
    const writing = objects.write();
    if (joining === undefined) {
      bytes ??= tip.composed.text(alloc);
      if (bytes === undefined) return undefined;
      hashing ??= fold ? undefined : (this.options.blobIds?.id(bytes, algorithm) ?? gitObjectId('blob', bytes, algorithm));
    }
    // No delta found from the head (a change in two places): it is worked out on the whole text.
    if (held && this.options.delta && window === undefined) {
      bytes ??= await joining!;
      window = windowDelta(held.bytes, bytes, counts, { baseLines: held.lines, knownPrefix: tip.composed.sharedHead(held.bytes), pads });
    }
    const delta = held && this.options.delta ? (window?.delta ?? encodeRulesetDelta(held.bytes, bytes!)) : undefined;
    await writing;
    // The delta goes to the wire server before the reader gives anyone the new id (it hands on
    // `named`), so a fetch of the new revision finds it. The branch does not wait for the id: it
    // moves while the worker hashes, and the agents' fetches wait in the reader for the id.
    const handOn = (blob: string): string => {
      try {
        if (held) this.options.delta?.(held.blob, blob, delta);
      } catch {
        // Not handed over: a fetch works it out, as for any other pair.
      }
      return blob;
    };
    const named = hashing === undefined ? handOn(newFiles.base.blob) : typeof hashing === 'string' ? handOn(hashing) : hashing.then(handOn);
    // The revision agents hold now is handed again first, so a full cache evicts older ones, not
    // the base of the delta they are about to ask for.
    if (tip.served) this.options.prime?.(f.base.blob, f.changes.map((c) => c.blob), tip.served.bytes, tip.served.blob);
    this.options.prime?.(newFiles.base.blob, newFiles.changes.map((c) => c.blob), bytes ?? joining!, named);
    this.options.primeChild?.(commit, old, req.ruleset, newFiles.base.blob, newFiles.changes.map((c) => ({ file: c.file, oid: c.blob })));

    // Sent (or kept for the new commit) before the branch moves: the ref watcher may see the move first.
    if (!sentAhead && held !== undefined && delta !== undefined) this.options.ahead?.(ref, commit, { parent: old, ruleset: req.ruleset, base: held.blob, target: size, delta });
    await req.beforeUpdate?.(attempt);
    try {
      if (this.options.refs) await this.options.refs.update(ref, commit, old);
      else await updateRef(gitdir, ref, commit, old, `nft-sync elements ${req.ruleset} by ${req.owner}`);
    } catch (err) {
      // Lost the compare-and-swap only if the branch really moved; anything else is git failing.
      if ((await readBranch(gitdir, ref)) === old) throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', (err as Error).message, { cause: err });
      return 'moved';
    }
    this.options.moved?.(ref, commit, old);
    if (size >= WARM_BYTES) this.prepareSpare(size);
    else this.spare.prepare(0); // a set that became small: no block kept for a big text
    bytes ??= await joining!;
    const served = { bytes, blob: await named, pad: pads.target, ...(window && { lines: window.lines }) };
    // After a fold the text followed is that of the old base and its net change; the new base is
    // that text (its pad too), whose elements are all the base's now, so the tip is built anew
    // from the folded base, starting now: the next change, unless it comes within seconds, finds
    // it ready.
    if (fold) this.keep(id, { commit, files: newFiles, building: this.build(bytes, []), served });
    else if (tip.composed.netSize <= NET_MAX) this.keep(id, { commit, files: newFiles, composed: tip.composed, served });
    return { done: { branch: req.branch, commit, previous: old, kind: change.kind, added: change.added.length, deleted: change.deleted.length, attempts: attempt, ...(fold && { folded: files }) } };
  }

  /**
   * The blob id of the text `pieces` make (composed's pieces()), and the text itself: with `join`,
   * a big text is joined by the worker as it hashes it, into memory from `alloc` (`joining`: its
   * bytes, taken by `composed` as its text, once the id is known; nothing of it is copied here);
   * else only the id is worked on from the pieces (undefined: hash the text once joined). With
   * `resume`, the hash goes on from the worker's state for the text `resume.blob`, whose first
   * `resume.same` bytes this one shares by construction (ComposedText.sharedHead; host/
   * blob-id-thread.ts). Never throws.
   */
  private joinAndHash(composed: ComposedText, pieces: readonly Buffer[], algorithm: 'sha1' | 'sha256', alloc: (size: number, shift: number) => Buffer, join: boolean, resume: { blob: string; same: number } | undefined): { hashing?: Promise<string>; joining?: Promise<Buffer> } {
    const ids = this.options.blobIds;
    if (ids === undefined) return {};
    const { size, shift } = joinLayout(pieces, false);
    if (join && size >= WARM_BYTES) {
      const into = alloc(size, shift);
      const hashing = ids.joinInto(pieces, undefined, algorithm, into, resume);
      if (hashing !== undefined) return { hashing, joining: hashing.then(() => (composed.joined(pieces, into), into)) };
      // The worker cannot: joined here, into the memory taken (it would be wasted otherwise).
      const bytes = composed.text(() => into);
      return bytes === undefined ? {} : { hashing: ids.id(bytes, algorithm) };
    }
    const hashing = ids.idOfPieces(pieces, undefined, algorithm, undefined, resume);
    return hashing === undefined ? {} : { hashing };
  }

  /** A tip of `base` and its change files: in the worker when the server passes `follow`, else here. Never throws. */
  private async build(base: Buffer, changes: readonly Buffer[]): Promise<ComposedText | undefined> {
    if (this.options.follow) return this.options.follow(base, changes).catch(() => undefined);
    try {
      return ComposedText.build(base, changes.map((c) => parseChangeFile(c)));
    } catch {
      return undefined;
    }
  }

  /**
   * Read the tips of branch `ref`'s big rulesets (a base of 1 MiB or more; at most maxTips of
   * them) and start following them, so that the first change to one after a start costs what the
   * next ones do rather than seconds. Resolves with their names once they are read (the
   * following goes on in the background; a change that comes meanwhile waits for it). Call it
   * when no change to the branch is in progress (the element routes queue it with the branch's
   * changes). Never throws: a tip not warmed is read by its first change, as before.
   */
  async warm(ref: string): Promise<string[]> {
    const { gitdir } = this.options;
    try {
      const commit = await readBranch(gitdir, ref);
      if (commit === undefined) return [];
      // `ls-tree -l`: each file's size without reading it. Entries: "MODE TYPE ID SIZE\tNAME".
      const listing = await gitOutput(gitdir, ['ls-tree', '-l', '-z', `${commit}:rulesets`]).catch(() => '');
      const big: string[] = [];
      for (const entry of listing.split('\0')) {
        const m = /^1006[0-7]{2} blob \S+ +(\d+)\t([^/]+)\.json$/.exec(entry);
        // Only ruleset names count toward maxTips (readStoredRuleset refuses the others: a
        // repository written without the validator could crowd the real ones out).
        if (m && Number(m[1]) >= WARM_BYTES && isRulesetName(m[2]!)) big.push(m[2]!);
      }
      const warmed: string[] = [];
      for (const ruleset of big.slice(0, this.options.maxTips ?? SERVER_DEFAULTS.elementLog.maxTips)) {
        const id = `${ref}\0${ruleset}`;
        if (this.tips.has(id)) continue;
        const stored: StoredRuleset | undefined = await readStoredRuleset(gitdir, commit, ruleset).catch(() => undefined);
        if (stored === undefined || stored.commit !== commit) continue;
        this.options.blobIds?.warm();
        const tip: Tip = { commit, files: filesOf(stored), building: this.build(stored.base.bytes, stored.changes.map((c) => c.bytes)) };
        this.keep(id, tip);
        void this.serveWarmed(id, tip);
        warmed.push(ruleset);
      }
      return warmed;
    } catch {
      return [];
    }
  }

  /**
   * Once warmed `tip` is built: its text and blob id, the revision agents hold, handed to the
   * reader and kept as the base of the next change's delta, and memory prepared for the next
   * text, so that the first change after a start is made as the ones after it (without them it
   * took 0.9 s: no delta worked out ahead, fresh memory). Nothing when a change took the tip
   * meanwhile (it goes on without them, as before); only the memory when the ruleset has no change
   * files and is not stored as rendered (agents hold the stored bytes, not the text). Never throws.
   */
  private async serveWarmed(id: string, tip: Tip): Promise<void> {
    try {
      const composed = await tip.building;
      // In shared memory, so the worker hashes it and keeps its states: the first change goes on from them.
      const bytes = composed?.text((size, shift) => sharedBuffer(size, shift));
      if (composed === undefined || bytes === undefined || this.tips.get(id) !== tip) return;
      const algorithm = objectIdAlgorithm(tip.commit);
      const blob = await (this.options.blobIds?.id(bytes, algorithm) ?? gitObjectId('blob', bytes, algorithm));
      if (this.tips.get(id) !== tip) return;
      // Without change files agents hold the file as stored, which is the rendered text only when
      // it was stored rendered (a push may store any layout): else the reader would serve the
      // rendered text under the stored file's blob id, bytes that do not hash to it.
      if (tip.files.changes.length > 0 || blob === tip.files.base.blob) {
        this.options.prime?.(tip.files.base.blob, tip.files.changes.map((c) => c.blob), bytes, blob);
        this.tips.set(id, { commit: tip.commit, files: tip.files, composed, served: { bytes, blob, pad: composed.pad } });
      }
      this.prepareSpare(bytes.length);
    } catch {
      // Not served ahead: the first change works without it.
    }
  }

  /**
   * The tip of `id` at commit `old`, taken out of the map (the caller keeps it again when done):
   * kept, carried over a commit that left the ruleset's files alone, or read anew.
   */
  private async tipAt(id: string, ruleset: string, old: string): Promise<(Tip & { composed: ComposedText }) | undefined> {
    const kept = this.tips.get(id);
    this.tips.delete(id);
    if (kept?.commit === old && kept.composed) return kept as Tip & { composed: ComposedText };
    if (kept?.commit === old && kept.building) {
      const composed = await kept.building;
      if (composed !== undefined) return { commit: old, files: kept.files, composed, ...(kept.served && { served: kept.served }) };
    }
    const stored = await readStoredRuleset(this.options.gitdir, old, ruleset);
    // A big tip is read (seconds): start the worker its changes will hash their texts in.
    if (stored !== undefined && stored.base.bytes.length >= WARM_BYTES) this.options.blobIds?.warm();
    // A branch at a tag object (written by hand: git refuses it) is no commit to be the parent:
    // the whole path decides (git commit-tree refuses it).
    if (stored === undefined || stored.commit !== old) return undefined;
    const same = kept !== undefined && sameFiles(kept.files, stored);
    // The same files (a push left the ruleset alone): the text kept, or the one being built since a fold.
    let composed = same ? (kept.composed ?? (await kept.building)) : undefined;
    composed ??= await this.build(stored.base.bytes, stored.changes.map((c) => c.bytes));
    if (composed === undefined) return undefined;
    return { commit: old, files: filesOf(stored), composed, ...(same && kept.served && { served: kept.served }) };
  }
}
