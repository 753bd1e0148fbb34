/**
 * Writing git objects in process, as loose objects (`objects/XX/YYYY…`, zlib-deflated), the way
 * `git hash-object -w` stores them: the element API's commits without starting git several times
 * per change. Only refs are moved with the git CLI (`update-ref NEW OLD`, which locks).
 * IO: files under the repository's object directory.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import { NftSyncError } from '../../shared/errors.js';
import { gitObjectId, type GitObjectType } from '../../shared/git/git-objects.js';

const deflateAsync = promisify(deflate);

/**
 * Store `content` as a loose object of `type` in the repository `gitdir` and return its id. An
 * object already stored loose is not written again. Written to a temporary file and renamed, so
 * a reader never sees half an object; deflated on the thread pool (a 25 MB ruleset takes a few
 * hundred ms), not on the event loop. Errors: NFTSYNC_ERR_REPO_GIT_FAILED (the file could not be written).
 */
export async function writeLooseObject(gitdir: string, type: GitObjectType, content: Buffer, algorithm: 'sha1' | 'sha256' = 'sha1'): Promise<string> {
  const id = gitObjectId(type, content, algorithm);
  const dir = join(gitdir, 'objects', id.slice(0, 2));
  const file = join(dir, id.slice(2));
  if (existsSync(file)) return id;
  const tmp = join(dir, `tmp_obj_nftsync_${randomBytes(6).toString('hex')}`);
  try {
    const packed = await deflateAsync(Buffer.concat([Buffer.from(`${type} ${content.length}\0`), content]), { level: 1 });
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, packed, { mode: 0o444 });
    await rename(tmp, file);
    return id;
  } catch (err) {
    await rm(tmp, { force: true });
    throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `could not write ${type} ${id} to ${gitdir}/objects: ${(err as Error).message}`, { cause: err });
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

  /** Write every object added. Errors: writeLooseObject's. */
  async write(): Promise<void> {
    await Promise.all([...this.#objects.values()].map((o) => writeLooseObject(this.gitdir, o.type, o.content, this.algorithm)));
  }
}
