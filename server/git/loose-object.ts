/**
 * Writing git objects in process, as loose objects (`objects/XX/YYYY…`, zlib-deflated), the way
 * `git hash-object -w` stores them: the element API's commits without starting git several times
 * per change. Only refs are moved with the git CLI (`update-ref NEW OLD`, which locks).
 * IO: files under the repository's object directory.
 *
 * A batch writes its small objects (a change file, trees, a commit: a few KB each) at once, on
 * the calling thread: about 0.3 ms each, where the same on the thread pool took a turn of the
 * event loop per step (deflate, mkdir, write, rename) and, with the loop busy meanwhile (the
 * element API works out the agents' delta while its objects are written), 5-15 ms in all.
 * Big objects (a folded 25 MB ruleset: a few hundred ms to deflate) stay on the thread pool.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflate, deflateSync } from 'node:zlib';
import { NftSyncError } from '../../shared/errors.js';
import { gitObjectId, type GitObjectType } from '../../shared/git/git-objects.js';

const deflateAsync = promisify(deflate);

/** Objects up to this size are written by a batch on the calling thread (see the header). */
export const SYNC_OBJECT_MAX_BYTES = 256 * 1024;

/** What the file of a loose object is made of: the header and content, deflated (level 1: fast; git reads any). */
const looseHeader = (type: GitObjectType, content: Buffer): Buffer => Buffer.from(`${type} ${content.length}\0`);

/** Where loose object `id` goes: its folder, its file, and a temporary name beside it to write first. */
function looseTarget(gitdir: string, id: string): { dir: string; file: string; tmp: string } {
  const dir = join(gitdir, 'objects', id.slice(0, 2));
  return { dir, file: join(dir, id.slice(2)), tmp: join(dir, `tmp_obj_nftsync_${randomBytes(6).toString('hex')}`) };
}

/** NFTSYNC_ERR_REPO_GIT_FAILED for an object that could not be written. */
const writeFailed = (gitdir: string, type: GitObjectType, id: string, err: unknown): NftSyncError =>
  new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `could not write ${type} ${id} to ${gitdir}/objects: ${(err as Error).message}`, { cause: err });

/**
 * writeLooseObject on the calling thread, for small objects (SYNC_OBJECT_MAX_BYTES): the same
 * file, written the same way. Errors: writeLooseObject's.
 */
export function writeLooseObjectSync(gitdir: string, type: GitObjectType, content: Buffer, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  return storeSync(gitdir, type, content, gitObjectId(type, content, algorithm));
}

/** writeLooseObjectSync of an object whose id (`id`) is known. */
function storeSync(gitdir: string, type: GitObjectType, content: Buffer, id: string): string {
  const t = looseTarget(gitdir, id);
  if (existsSync(t.file)) return id;
  try {
    mkdirSync(t.dir, { recursive: true });
    writeFileSync(t.tmp, deflateSync(Buffer.concat([looseHeader(type, content), content]), { level: 1 }), { mode: 0o444 });
    renameSync(t.tmp, t.file);
    return id;
  } catch (err) {
    rmSync(t.tmp, { force: true });
    throw writeFailed(gitdir, type, id, err);
  }
}

/**
 * Store `content` as a loose object of `type` in the repository `gitdir` and return its id. An
 * object already stored loose is not written again. Written to a temporary file and renamed, so
 * a reader never sees half an object; deflated on the thread pool (a 25 MB ruleset takes a few
 * hundred ms), not on the event loop. Errors: NFTSYNC_ERR_REPO_GIT_FAILED (the file could not be written).
 */
export function writeLooseObject(gitdir: string, type: GitObjectType, content: Buffer, algorithm: 'sha1' | 'sha256' = 'sha1'): Promise<string> {
  return store(gitdir, type, content, gitObjectId(type, content, algorithm));
}

/** writeLooseObject of an object whose id (`id`) is known. */
async function store(gitdir: string, type: GitObjectType, content: Buffer, id: string): Promise<string> {
  const t = looseTarget(gitdir, id);
  if (existsSync(t.file)) return id;
  try {
    const packed = await deflateAsync(Buffer.concat([looseHeader(type, content), content]), { level: 1 });
    await mkdir(t.dir, { recursive: true });
    await writeFile(t.tmp, packed, { mode: 0o444 });
    await rename(t.tmp, t.file);
    return id;
  } catch (err) {
    await rm(t.tmp, { force: true });
    throw writeFailed(gitdir, type, id, err);
  }
}

/**
 * Objects to write together: `add` gives each one's id at once (a tree or commit can name the
 * objects added before it), `write` stores them all at the same time. Nothing names them until a
 * ref does, so the order they reach the disk in does not matter.
 */
export class LooseObjectBatch {
  readonly #objects = new Map<string, { type: GitObjectType; content: Buffer }>();

  constructor(
    private readonly gitdir: string,
    private readonly algorithm: 'sha1' | 'sha256' = 'sha1',
  ) {}

  /** Add an object; its id. Pure (nothing is written yet). */
  add(type: GitObjectType, content: Buffer): string {
    const id = gitObjectId(type, content, this.algorithm);
    this.#objects.set(id, { type, content });
    return id;
  }

  /**
   * Write every object added: the small ones (SYNC_OBJECT_MAX_BYTES) before this returns, the
   * big ones on the thread pool. Errors: writeLooseObject's (as a rejection).
   */
  async write(): Promise<void> {
    const big: Array<Promise<string>> = [];
    // Each written under the id add() computed: a 25 MB blob is not hashed twice.
    for (const [id, o] of this.#objects) {
      if (o.content.length <= SYNC_OBJECT_MAX_BYTES) storeSync(this.gitdir, o.type, o.content, id);
      else big.push(store(this.gitdir, o.type, o.content, id));
    }
    await Promise.all(big);
  }
}
