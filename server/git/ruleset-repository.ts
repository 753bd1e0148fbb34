/**
 * Read access to the rulesets repository: resolve what an agent asked for (branch, tag, commit)
 * to a commit, and read a ruleset (`rulesets/NAME.json`, with its element change files applied)
 * and `nft-sync.yaml` at that commit.
 *
 * Objects are read in-process with isomorphic-git through one long-lived `cache` object (it
 * keeps pack indexes and packs loaded). Everything keyed by an object id is immutable, so it is
 * cached without invalidation: per commit, the list of rulesets and the config's blob id; per
 * blob, the ruleset bytes (LRU bounded by total bytes) and the parsed config; per tag, its commit.
 * Only refs are read fresh every time, because they move.
 *
 * Only validated commits are served: a commit asked for by id (full or abbreviated) must be
 * reachable from a branch or a tag (server/git/reachable-commits.ts), the refs the push validator
 * judges. Everything that resolves a ref (the wire protocol, the API routes, rollback) goes
 * through resolveRef and inherits that.
 */
import * as fs from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { NftSyncError } from '../../shared/errors.js';
import { assertRef, assertRulesetName, isObjectId, isRulesetName } from '../../shared/ruleset/names.js';
import { refCandidates } from '../../shared/git/ref-candidates.js';
import { parseRepoConfig, rulesetForAgent, REPO_CONFIG_PATH, type RepoConfig } from '../../shared/config/repo-config.js';
import { highestTag } from '../../shared/release/semver.js';
import { composeRulesetText, type RulesetFile } from '../../shared/ruleset/compose-ruleset.js';
import { CHANGE_FILE_NAME, elementsDirName, rulesetOfElementsDir } from '../../shared/ruleset/element-log.js';
import { gitBlobId, objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { ByteLru } from './byte-lru.js';
import { ComposeThread } from './compose-thread.js';
import { ComposeSlots } from './compose-slots.js';
import { parseChangeFile } from '../../shared/ruleset/element-log.js';
import { ComposedText } from '../../shared/ruleset/composed-text.js';
import { ReachableCommits } from './reachable-commits.js';
import { readAllRefs, readPackedRefs, readRef, type StoredRef } from './read-refs.js';
import { SERVER_DEFAULTS } from '../defaults.js';

/**
 * A copy of the branches and tags kept in memory by someone who watches them (the server's
 * RefWatcher): full ref name -> commit id, annotated tags peeled, as listRefs returns them.
 */
export interface RefView {
  /** Whether the copy is kept current by file events (else the files are read each time). */
  readonly live: boolean;
  /** The copy once the changes already signalled are in it; `generation` changes with each scan. */
  fresh(): Promise<{ refs: ReadonlyMap<string, string>; generation: number }>;
}

/** Reads one ref from the files (read-refs.ts readRef); replaceable so tests can count reads. */
export type RefFileReader = typeof readRef;

export interface RulesetRepositoryOptions {
  /** How one ref is read from the files (default read-refs.ts readRef). */
  readRefFile?: RefFileReader;
  /** Total bytes of ruleset contents kept in memory (default 64 MiB). */
  maxCachedBytes?: number;
  /** Commits whose ruleset listing is kept (default 1024). */
  maxCachedCommits?: number;
  /** Bases at least this big are composed with their change files in a worker thread (default repository.composeOffThreadBytes). */
  composeOffThreadBytes?: number;
  /** Big rulesets composed at once, their files in memory (default repository.composeSlots). */
  composeSlots?: number;
}

/** What a commit holds, as far as nft-sync cares. */
interface CommitIndex {
  /** Ruleset name -> blob id of `rulesets/NAME.json`. */
  rulesets: ReadonlyMap<string, string>;
  /** Ruleset name -> its element change files (`rulesets/NAME.elements/NNNNNN.json`), in order; absent when none. */
  changes: ReadonlyMap<string, ReadonlyArray<{ file: string; oid: string }>>;
  /** Blob id of `nft-sync.yaml`, if the commit has one. */
  configBlob: string | undefined;
}

const HEX = /^[0-9a-fA-F]+$/;
const MAX_TAG_DEPTH = SERVER_DEFAULTS.repository.maxTagDepth;

export class RulesetRepository {
  /** The one isomorphic-git cache; replaced only when `git gc` deletes a pack it holds. */
  private cache: object = {};
  private knownPacks = new Set<string>();
  private readonly blobs: ByteLru<Buffer>;
  private readonly commits: ByteLru<CommitIndex>;
  private readonly configs = new ByteLru<{ config: RepoConfig }>(SERVER_DEFAULTS.repository.maxCachedConfigs, () => 1);
  private readonly peeled = new ByteLru<{ commit: string }>(SERVER_DEFAULTS.repository.maxCachedPeeled, () => 1);
  /** Blob id of a composed ruleset, by its files' ids (its bytes are in `blobs` under the same key). */
  private readonly composeOffThreadBytes: number;
  /** The worker thread big rulesets are composed in (started at the first). */
  private readonly composer = new ComposeThread();
  /** Bounds the big composes holding their files at once (server/git/compose-slots.ts). */
  private readonly bigComposes: ComposeSlots;
  /** Bounds the element API's big tips built at once (their own slots: a change never waits behind readers). */
  private readonly bigFollows: ComposeSlots;
  private readonly composedIds = new ByteLru<{ blob: string }>(SERVER_DEFAULTS.repository.maxCachedCommits, () => 1);
  private readonly reachable: ReachableCommits;
  private readonly readRefFile: RefFileReader;
  private refView: RefView | undefined;
  /** HEAD's stored value, read once per scan of the ref view. */
  private head: { generation: number; name: string | undefined } | undefined;

  private constructor(
    /** The git directory (for a bare repository, the repository itself). */
    readonly gitdir: string,
    options: RulesetRepositoryOptions,
  ) {
    this.blobs = new ByteLru(options.maxCachedBytes ?? SERVER_DEFAULTS.repository.maxCachedBytes, (b) => b.length);
    this.commits = new ByteLru(options.maxCachedCommits ?? SERVER_DEFAULTS.repository.maxCachedCommits, () => 1);
    this.reachable = new ReachableCommits(gitdir, async () => [...(await this.listRefs()).values()]);
    this.readRefFile = options.readRefFile ?? readRef;
    this.composeOffThreadBytes = options.composeOffThreadBytes ?? SERVER_DEFAULTS.repository.composeOffThreadBytes;
    this.bigComposes = new ComposeSlots(options.composeSlots ?? SERVER_DEFAULTS.repository.composeSlots);
    this.bigFollows = new ComposeSlots(options.composeSlots ?? SERVER_DEFAULTS.repository.composeSlots);
  }

  /**
   * Resolve branches and tags from `view` (the server's ref watcher) instead of reading ref files
   * per request: during a fan-out every agent fetches, and the reads were most of the server's
   * CPU. A name the copy does not hold (HEAD, a ref created since the last scan, an abbreviated
   * id) still goes to the files. listRefs always reads the files (the watcher itself uses it).
   */
  useRefView(view: RefView): void {
    this.refView = view;
  }

  /**
   * Open the repository at `dir`: a bare repository, or a work tree whose `.git` is a directory.
   * Throws NFTSYNC_ERR_REPO_NOT_FOUND when `dir` is neither (including a linked work tree, whose
   * `.git` is a file: serve its main repository instead).
   */
  static async open(dir: string, options: RulesetRepositoryOptions = {}): Promise<RulesetRepository> {
    for (const gitdir of [dir, join(dir, '.git')]) {
      if (await isGitDir(gitdir)) return new RulesetRepository(gitdir, options);
    }
    throw new NftSyncError('NFTSYNC_ERR_REPO_NOT_FOUND', `${dir} is not a git repository: create one with nft-sync init ${dir}`, { data: { dir } });
  }

  /**
   * The commit id `ref` names, resolved the way `git rev-parse REF^{commit}` does:
   * 1. a full object id (40 or 64 hex digits) is that object;
   * 2. otherwise the first existing of `REF` (only `HEAD` or `refs/...`), `refs/REF`,
   *    `refs/tags/REF`, `refs/heads/REF`, `refs/remotes/REF`, `refs/remotes/REF/HEAD`: so a tag
   *    wins over a branch of the same name, exactly as git picks it (git also warns); but only
   *    `HEAD` and names under refs/heads/ and refs/tags/ count. Those are the refs the push
   *    validator judges; any other ref a push can create (`refs/prod/web`, `refs/remotes/x`)
   *    passes the hook unjudged and must never shadow or stand in for a branch or tag;
   * 3. otherwise 4 to 63 hex digits are an abbreviated id, among commits and tags only (git's
   *    "committish" disambiguation: a blob sharing the prefix does not make it ambiguous).
   * Annotated tags are peeled to their commit. A commit named by id (or by a detached HEAD) must
   * be reachable from a branch or a tag, else it is not found: a commit that only an unjudged
   * ref (`refs/other/x`) leads to was never validated. An abbreviation is ambiguous only among
   * reachable commits, so an unvalidated commit cannot even be detected through it.
   *
   * Errors: NFTSYNC_ERR_REF_INVALID (not a valid name; checked before any file is touched),
   * NFTSYNC_ERR_REF_NOT_FOUND (nothing by that name, or a full id of a missing object),
   * NFTSYNC_ERR_REF_AMBIGUOUS (the abbreviation fits several commits; `data.candidates`),
   * NFTSYNC_ERR_REF_NOT_COMMIT (it names a blob or tree, or a tag of one).
   */
  async resolveRef(ref: string): Promise<string> {
    assertRef(ref);
    const hex = HEX.test(ref);
    if (hex && (ref.length === 40 || ref.length === 64)) return this.validated(await this.peelToCommit(ref.toLowerCase(), ref), ref);
    const candidates = refCandidates(ref).filter(isServedRef);
    const viewed = await this.fromRefView(candidates);
    if (viewed !== undefined) return viewed.name === 'HEAD' ? this.validated(viewed.commit, ref) : viewed.commit;
    let packed: Promise<Map<string, StoredRef>> | undefined;
    const packedOnce = () => (packed ??= readPackedRefs(this.gitdir));
    for (const name of candidates) {
      const stored = await this.readRefFile(this.gitdir, name, packedOnce);
      // packed-refs' peeled value saves reading the tag; it is still checked to be a commit.
      if (stored === undefined) continue;
      const commit = await this.peelToCommit(stored.peeled ?? stored.oid, ref);
      // A branch or tag is a tip, validated by definition; HEAD may be detached anywhere.
      return name === 'HEAD' ? this.validated(commit, ref) : commit;
    }
    if (hex && ref.length >= 4 && ref.length < 64) return this.expandAbbreviated(ref.toLowerCase(), ref);
    throw notFound(ref);
  }

  /**
   * The bytes of ruleset NAME at `commit` (a full commit id, as resolveRef returns) and their git
   * blob id: what agents receive and verify. The ONE way the server reads a ruleset (wire
   * fetches and deltas, the API's reads and diffs).
   *
   * Without element change files that is `rulesets/NAME.json` exactly as stored. With them
   * (`rulesets/NAME.elements/`, shared/ruleset/element-log.ts) it is the effective ruleset: the
   * base with the change files applied, rendered one element a line (shared/ruleset/
   * compose-ruleset.ts), and the blob id is that of those bytes (git hash-object's), which is in
   * no tree. Composed once per set of files and kept in the same byte cache under a key of the
   * files' ids, so one copy is held however many agents ask. The Buffer is shared with the
   * cache: callers must not modify it.
   *
   * Errors: NFTSYNC_ERR_RULESET_NAME_INVALID (checked first), NFTSYNC_ERR_REF_INVALID (`commit`
   * is not a full object id), NFTSYNC_ERR_REF_NOT_FOUND / NFTSYNC_ERR_REF_NOT_COMMIT (no such
   * commit), NFTSYNC_ERR_RULESET_NOT_FOUND (`data.ruleset`, `data.commit`), and for a commit the
   * push validator never judged, composeRuleset's (RULESET_SCHEMA, SET_NOT_FOUND, ...).
   */
  async readRuleset(commit: string, name: string): Promise<{ blob: string; bytes: Buffer }> {
    assertRulesetName(name);
    const index = await this.commitIndex(commit);
    const blob = index.rulesets.get(name);
    if (blob === undefined) {
      const names = [...index.rulesets.keys()].sort();
      const known = names.length === 0 ? 'none' : names.length > 20 ? `${names.slice(0, 20).join(', ')}, ...` : names.join(', ');
      throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `commit ${commit} has no rulesets/${name}.json (rulesets there: ${known})`, {
        data: { ruleset: name, commit },
      });
    }
    const readBlob = async (oid: string): Promise<Buffer> => Buffer.from((await git.readBlob({ fs, gitdir: this.gitdir, oid, cache: this.cache })).blob);
    const changes = index.changes.get(name);
    if (changes === undefined) return { blob, bytes: await this.blobs.getOrLoad(blob, () => readBlob(blob)) };
    const key = `${blob}+${changes.map((c) => c.oid).join(',')}`;
    const read = async (): Promise<{ base: RulesetFile; files: RulesetFile[] }> => {
      const dir = `rulesets/${elementsDirName(name)}`;
      const files = await Promise.all(changes.map(async (c) => ({ path: `${dir}/${c.file}`, bytes: await readBlob(c.oid) })));
      return { base: { path: `rulesets/${name}.json`, bytes: await readBlob(blob) }, files };
    };
    const compose = async (): Promise<Buffer> => {
      let read1: { base: RulesetFile; files: RulesetFile[] } | undefined = await read();
      if (Buffer.byteLength(read1.base.bytes) < this.composeOffThreadBytes) return this.composeText(read1.base, read1.files);
      // A big set takes seconds to parse and render: off the event loop (server/git/compose-thread.ts),
      // a few at a time (compose-slots.ts); one that waits drops its files and reads them again.
      if (!this.bigComposes.tryTake()) {
        read1 = undefined;
        await this.bigComposes.take();
      }
      try {
        const { base, files } = read1 ?? (await read());
        read1 = undefined;
        return await this.composeText(base, files);
      } finally {
        this.bigComposes.give();
      }
    };
    const bytes = await this.blobs.getOrLoad(key, compose);
    const { blob: id } = await this.composedIds.getOrLoad(key, async () => ({ blob: gitBlobId(bytes, objectIdAlgorithm(commit)) }));
    return { blob: id, bytes };
  }

  /**
   * The effective text of `base` with `changes` (composeRulesetText's bytes), composed in the
   * worker thread when the base is big (server/git/compose-thread.ts). Errors: composeRulesetText's.
   */
  async composeText(base: RulesetFile, changes: readonly RulesetFile[]): Promise<Buffer> {
    if (Buffer.byteLength(base.bytes) >= this.composeOffThreadBytes) return this.composer.compose(base, changes);
    return Buffer.from(composeRulesetText(base, changes));
  }

  /**
   * The element API's tip of a ruleset stored as `base` and its change files (ComposedText.build;
   * server/git/element-tips.ts), built in the worker thread when the base is big, so the first
   * change after a start does not hold the event loop for seconds; `composeSlots` of them at once
   * (each sends the worker a copy of its files, and gets back a tip of about 40 bytes an
   * element), the others waiting before their copy is made. Undefined when it cannot be
   * followed. Never throws.
   */
  async followText(base: Buffer, changes: readonly Buffer[]): Promise<ComposedText | undefined> {
    if (base.length >= this.composeOffThreadBytes) {
      await this.bigFollows.take();
      try {
        return await this.composer.follow(base, changes);
      } finally {
        this.bigFollows.give();
      }
    }
    try {
      return ComposedText.build(base, changes.map((c) => parseChangeFile(c)));
    } catch {
      return undefined;
    }
  }

  /**
   * Hold `bytes` (blob id `blob`) as the effective text of the ruleset stored as base blob
   * `base` with change files `changes` (their blob ids, in the order they apply): what readRuleset
   * would compose for those files. The element API works the text out while it commits
   * (server/git/element-tips.ts, shared/ruleset/composed-text.ts), so the agents fetching the new
   * revision do not make the server compose a million elements again. `blob` may still be on its
   * way (computed in a worker thread): a readRuleset of those files then waits for it, never
   * composes. It must resolve to the id of `bytes`. `bytes` may be on their way too (joined in a
   * worker as they are hashed: server/git/element-tips.ts): readers wait for them, and a promise
   * that rejects is forgotten (the next reader composes). Without change files, only the stored
   * file's bytes are taken (`blob` must then be `base`, known: else nothing is held). The Buffer
   * is shared: the caller must not modify it.
   */
  primeComposed(base: string, changes: readonly string[], bytes: Buffer | Promise<Buffer>, blob: string | Promise<string>): void {
    const hold = (key: string): void => (Buffer.isBuffer(bytes) ? this.blobs.set(key, bytes) : this.blobs.loadWith(key, bytes));
    if (changes.length === 0) {
      // Without change files readRuleset serves the file as stored, under its own id: only its
      // own bytes may stand for it (a fold's base is; a text rendered from another layout is not).
      if (blob === base) hold(base);
      return;
    }
    const key = `${base}+${changes.join(',')}`;
    hold(key);
    if (typeof blob === 'string') this.composedIds.set(key, { blob });
    else this.composedIds.loadWith(key, blob.then((id) => ({ blob: id })));
  }

  /**
   * Say what commit `commit` holds when it is a child of `parent` that changed ruleset `name`'s
   * stored files alone (the element API's commit, written in process: server/git/element-tips.ts):
   * its base file's blob `base` and its change files `changes` (in order; none after a fold).
   * When `parent`'s index is cached, the new commit's is derived from it, so the first readers of
   * the new commit (the ref scan, the rollouts' config read, the agents' fetches) read neither it
   * nor its trees from disk (3-5 ms). Nothing otherwise: they read them, as for any commit.
   */
  primeChild(commit: string, parent: string, name: string, base: string, changes: ReadonlyArray<{ file: string; oid: string }>): void {
    const index = this.commits.get(parent);
    if (index === undefined || !index.rulesets.has(name)) return;
    const rulesets = new Map(index.rulesets).set(name, base);
    const changed = new Map(index.changes);
    if (changes.length > 0) changed.set(name, [...changes]);
    else changed.delete(name);
    this.commits.set(commit, { rulesets, changes: changed, configBlob: index.configBlob });
    // A commit (this server wrote it): the ref scan that finds it at a branch's tip need not read it.
    this.peeled.set(commit, { commit });
  }

  /**
   * The raw content of object `oid` and its type, as stored (release proofs send these).
   * Errors: NFTSYNC_ERR_REF_NOT_FOUND when there is no such object.
   */
  async readRawObject(oid: string): Promise<{ type: string; content: Buffer }> {
    try {
      const o = await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content', cache: this.cache });
      return { type: o.type, content: Buffer.from(o.object as Uint8Array) };
    } catch (err) {
      throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no object ${oid} in the repository`, { cause: err });
    }
  }

  /**
   * The object id stored in the tag ref `ref` (`NAME` or `refs/tags/NAME`), not peeled: for an
   * annotated tag, the tag object's id. Undefined when there is no such tag.
   */
  async tagObjectId(ref: string): Promise<string | undefined> {
    assertRef(ref);
    const name = ref.startsWith('refs/tags/') ? ref : `refs/tags/${ref}`;
    const stored = await readRef(this.gitdir, name, () => readPackedRefs(this.gitdir));
    return stored?.oid;
  }

  /** Names of the rulesets at `commit` (valid names only), sorted. Errors as readRuleset's commit errors. */
  async listRulesets(commit: string): Promise<string[]> {
    return [...(await this.commitIndex(commit)).rulesets.keys()].sort();
  }

  /**
   * The parsed `nft-sync.yaml` at `commit`, undefined when the commit has none.
   * Errors: as listRulesets, and NFTSYNC_ERR_REPO_CONFIG_INVALID (`data.commit` added).
   */
  async repoConfig(commit: string): Promise<RepoConfig | undefined> {
    const { configBlob } = await this.commitIndex(commit);
    if (configBlob === undefined) return undefined;
    const { config } = await this.configs.getOrLoad(configBlob, async () => {
      const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid: configBlob, cache: this.cache });
      try {
        return { config: parseRepoConfig(Buffer.from(blob).toString('utf8')) };
      } catch (err) {
        if (!(err instanceof NftSyncError)) throw err;
        throw new NftSyncError(err.code, `${err.message} (at commit ${commit})`, { data: { ...err.data, commit }, cause: err.cause });
      }
    });
    return config;
  }

  /** The ruleset `nft-sync.yaml` at `commit` gives `agent` ('default' without the file). Errors as repoConfig. */
  async rulesetForAgent(commit: string, agent: string): Promise<string> {
    return rulesetForAgent(await this.repoConfig(commit), agent);
  }

  /**
   * Every branch and tag, full ref name -> commit id (annotated tags peeled), sorted by name.
   * Refs that do not lead to a commit (a tag of a blob, a dangling ref) are left out. Reads the
   * ref files in-process: about a millisecond for hundreds of refs, cheap enough per change.
   */
  /**
   * The highest semantic version among the tags matching `pattern` (shared/release/semver.ts) and its
   * commit. Errors: NFTSYNC_ERR_REF_INVALID (bad pattern), NFTSYNC_ERR_REF_NOT_FOUND (no tag
   * matches).
   */
  async resolveTrackedTag(pattern: string): Promise<{ tag: string; commit: string }> {
    const refs = this.refView?.live ? (await this.refView.fresh()).refs : await this.listRefs();
    const tags = new Map<string, string>();
    for (const [name, commit] of refs) if (name.startsWith('refs/tags/')) tags.set(name.slice('refs/tags/'.length), commit);
    const tag = highestTag(tags.keys(), pattern);
    if (tag === undefined) {
      throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no tag matching ${JSON.stringify(pattern)} is a semantic version (e.g. v1.2.3)`, { data: { pattern } });
    }
    return { tag, commit: tags.get(tag)! };
  }

  async listRefs(): Promise<Map<string, string>> {
    await this.dropCacheAfterRepack();
    const out = new Map<string, string>();
    const refs = [...(await readAllRefs(this.gitdir))];
    const commits = await Promise.all(refs.map(([name, stored]) => this.peelToCommit(stored.peeled ?? stored.oid, name).catch(() => undefined)));
    refs.forEach(([name], i) => {
      const commit = commits[i];
      if (commit !== undefined) out.set(name, commit);
    });
    return out;
  }

  /**
   * The first of `candidates` the ref view holds, with its commit; HEAD is followed to the
   * branch it names (its file read once per scan). Undefined without a live view, or when the
   * first candidate that exists is not in the copy (then the files decide, as before).
   */
  private async fromRefView(candidates: readonly string[]): Promise<{ name: string; commit: string } | undefined> {
    if (!this.refView?.live) return undefined;
    const { refs, generation } = await this.refView.fresh();
    for (const name of candidates) {
      if (name === 'HEAD') {
        if (this.head?.generation !== generation) this.head = { generation, name: readHeadTarget(this.gitdir) };
        const target = this.head.name;
        const commit = target === undefined ? undefined : refs.get(target);
        if (commit === undefined) return undefined;
        return { name, commit };
      }
      const commit = refs.get(name);
      if (commit !== undefined) return { name, commit };
    }
    return undefined;
  }

  /** `commit` if it is reachable from a branch or tag; else NFTSYNC_ERR_REF_NOT_FOUND for `asked`. */
  private async validated(commit: string, asked: string): Promise<string> {
    if (await this.reachable.has(commit)) return commit;
    throw notFound(asked);
  }

  /** Commit id behind `oid` (a commit, or tags down to one). Cached: objects never change. */
  private async peelToCommit(oid: string, asked: string): Promise<string> {
    const { commit } = await this.peeled.getOrLoad(oid, async () => {
      let current = oid;
      for (let depth = 0; depth <= MAX_TAG_DEPTH; depth++) {
        const type = await this.objectType(current);
        // Thrown, not cached: the object may arrive with the next push.
        if (type === undefined) throw notFound(asked);
        if (type === 'commit') return { commit: current };
        if (type !== 'tag') break;
        current = (await git.readTag({ fs, gitdir: this.gitdir, oid: current, cache: this.cache })).tag.object;
      }
      return { commit: '' };
    });
    if (commit === '') {
      throw new NftSyncError('NFTSYNC_ERR_REF_NOT_COMMIT', `${JSON.stringify(asked)} names a git object that is not a commit: give a branch, a tag or a commit id`, {
        data: { ref: asked, oid },
      });
    }
    return commit;
  }

  private async objectType(oid: string): Promise<string | undefined> {
    try {
      return (await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content', cache: this.cache })).type;
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return undefined;
      throw err;
    }
  }

  private async expandAbbreviated(prefix: string, asked: string): Promise<string> {
    let matches: string[];
    try {
      matches = [await git.expandOid({ fs, gitdir: this.gitdir, oid: prefix, cache: this.cache })];
    } catch (err) {
      const e = err as { code?: string; data?: { matches?: string[] } };
      if (e.code === 'NotFoundError') throw notFound(asked);
      if (e.code !== 'AmbiguousError') throw err;
      matches = e.data?.matches ?? [];
    }
    if (matches.length === 1) return this.validated(await this.peelToCommit(matches[0] as string, asked), asked);
    const commits = new Set<string>();
    let unvalidated = false;
    for (const oid of matches) {
      const type = await this.objectType(oid);
      if (type !== 'commit' && type !== 'tag') continue;
      const commit = await this.peelToCommit(oid, asked).catch(() => '');
      if (commit === '') continue;
      if (await this.reachable.has(commit)) commits.add(commit);
      else unvalidated = true;
    }
    if (commits.size === 1) return [...commits][0] as string;
    if (commits.size === 0) {
      if (unvalidated) throw notFound(asked);
      throw new NftSyncError('NFTSYNC_ERR_REF_NOT_COMMIT', `${JSON.stringify(asked)} matches only objects that are not commits: give a branch, a tag or a commit id`, { data: { ref: asked } });
    }
    throw new NftSyncError('NFTSYNC_ERR_REF_AMBIGUOUS', `abbreviated commit id ${asked} matches ${commits.size} commits: give more hex digits`, {
      data: { ref: asked, candidates: [...commits].sort() },
    });
  }

  private async commitIndex(commit: string): Promise<CommitIndex> {
    if (!isObjectId(commit)) {
      throw new NftSyncError('NFTSYNC_ERR_REF_INVALID', `${JSON.stringify(commit.slice(0, 80))} is not a full commit id: resolve the ref first`, { data: { ref: commit.slice(0, 80) } });
    }
    return this.commits.getOrLoad(commit, async () => {
      if ((await this.peelToCommit(commit, commit)) !== commit) {
        throw new NftSyncError('NFTSYNC_ERR_REF_NOT_COMMIT', `${commit} is a tag, not a commit: resolve the ref first`, { data: { ref: commit } });
      }
      const root = await git.readTree({ fs, gitdir: this.gitdir, oid: commit, cache: this.cache });
      const find = (name: string, type: string) => root.tree.find((e) => e.path === name && e.type === type && e.mode !== '120000');
      const rulesets = new Map<string, string>();
      const changes = new Map<string, Array<{ file: string; oid: string }>>();
      const dir = find('rulesets', 'tree');
      if (dir !== undefined) {
        const entries = (await git.readTree({ fs, gitdir: this.gitdir, oid: dir.oid, cache: this.cache })).tree;
        for (const e of entries) {
          const of = e.type === 'tree' ? rulesetOfElementsDir(e.path) : undefined;
          if (of === undefined) continue;
          const files = (await git.readTree({ fs, gitdir: this.gitdir, oid: e.oid, cache: this.cache })).tree
            .filter((f) => f.type === 'blob' && f.mode !== '120000' && CHANGE_FILE_NAME.test(f.path))
            .map((f) => ({ file: f.path, oid: f.oid }))
            .sort((a, b) => (a.file < b.file ? -1 : 1));
          if (files.length > 0) changes.set(of, files);
        }
        for (const e of entries) {
          // Symlinks and odd names are not rulesets: a link could point anywhere.
          if (e.type !== 'blob' || e.mode === '120000' || !e.path.endsWith('.json')) continue;
          const name = e.path.slice(0, -'.json'.length);
          // Not a name an agent can ask for: left out.
          if (isRulesetName(name)) rulesets.set(name, e.oid);
        }
      }
      return { rulesets, changes, configBlob: find(REPO_CONFIG_PATH, 'blob')?.oid };
    });
  }

  /**
   * isomorphic-git keeps every pack it has opened in `cache`, keyed by file name. After `git gc`
   * deletes packs, start a fresh cache so the old packs' memory is released.
   */
  private async dropCacheAfterRepack(): Promise<void> {
    let packs: string[];
    try {
      packs = (await fs.promises.readdir(join(this.gitdir, 'objects', 'pack'))).filter((f) => f.endsWith('.idx'));
    } catch {
      packs = [];
    }
    const now = new Set(packs);
    for (const old of this.knownPacks) {
      if (!now.has(old)) {
        this.cache = {};
        break;
      }
    }
    this.knownPacks = now;
  }
}

/** The branch HEAD names (`ref: refs/heads/main`), or undefined when detached or unreadable. */
function readHeadTarget(gitdir: string): string | undefined {
  try {
    const text = fs.readFileSync(join(gitdir, 'HEAD'), 'utf8').trim();
    if (!text.startsWith('ref: ')) return undefined;
    const target = text.slice(5).trim();
    return target.startsWith('refs/heads/') || target.startsWith('refs/tags/') ? target : undefined;
  } catch {
    return undefined;
  }
}

/** Refs an agent may be served: those the pre-receive validator judges (and HEAD). */
function isServedRef(name: string): boolean {
  return name === 'HEAD' || name.startsWith('refs/heads/') || name.startsWith('refs/tags/');
}

function notFound(ref: string): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no branch, tag or commit ${JSON.stringify(ref)} in the repository: list them with git ls-remote`, {
    data: { ref },
  });
}

async function isGitDir(dir: string): Promise<boolean> {
  try {
    const [head, objects, refs] = await Promise.all([stat(join(dir, 'HEAD')), stat(join(dir, 'objects')), stat(join(dir, 'refs'))]);
    return head.isFile() && objects.isDirectory() && refs.isDirectory();
  } catch {
    return false;
  }
}
