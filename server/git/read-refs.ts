/**
 * Reading refs straight from a git directory (the "files" ref backend of git 2.x): loose files
 * under `refs/` and the `packed-refs` file. In-process, because `listRefs` runs on every ref
 * change and spawning `git for-each-ref` costs milliseconds each time.
 *
 * Loose refs are read before `packed-refs`, the order git itself relies on: `git pack-refs`
 * writes `packed-refs` before deleting the loose files, and ref deletion rewrites `packed-refs`
 * before deleting the loose file, so reading in this order never sees a ref vanish that exists
 * before and after. A loose ref overrides a packed one of the same name.
 */
import { closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** One ref as stored: its direct value and, for a packed annotated tag, git's peeled value. */
export interface StoredRef {
  oid: string;
  /** The commit an annotated tag points to, when `packed-refs` records it (`^` lines). */
  peeled?: string;
}

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** Parse `packed-refs`: `OID NAME` lines, each optionally followed by `^PEELED`. Pure. */
export function parsePackedRefs(text: string): Map<string, StoredRef> {
  const out = new Map<string, StoredRef>();
  let last: StoredRef | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('^')) {
      const peeled = line.slice(1).trim();
      if (last && OID.test(peeled)) last.peeled = peeled;
      continue;
    }
    const space = line.indexOf(' ');
    const oid = line.slice(0, space);
    const name = line.slice(space + 1).trim();
    if (space < 0 || !OID.test(oid) || !name.startsWith('refs/')) {
      last = undefined;
      continue;
    }
    last = { oid };
    out.set(name, last);
  }
  return out;
}

/**
 * Opened non-blocking: a FIFO in place of a ref (a hostile repository on disk) reads as nothing
 * instead of blocking until a writer comes (the event loop for the synchronous reads, a thread of
 * libuv's pool for the others: forever). No effect on regular files.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Gone (deleted or packed meanwhile), a directory of that name, or a FIFO with nothing in it: not a ref here. */
const NOT_A_REF = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EAGAIN']);

async function readText(file: string): Promise<string | undefined> {
  try {
    const handle = await open(file, READ_FLAGS);
    try {
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (NOT_A_REF.has((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
}

function readTextSync(file: string): string | undefined {
  try {
    const fd = openSync(file, READ_FLAGS);
    try {
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (NOT_A_REF.has((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
}

/**
 * The `packed-refs` of `gitdir`, parsed; empty when there is none. Re-parsed only when the file
 * changed: git replaces it by rename, so a new inode (or size or mtime) means new contents.
 */
export async function readPackedRefs(gitdir: string): Promise<Map<string, StoredRef>> {
  const file = join(gitdir, 'packed-refs');
  let st;
  try {
    st = statSync(file);
  } catch {
    return new Map();
  }
  const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
  const hit = packedCache.get(file);
  if (hit?.key === key) return hit.refs;
  const refs = parsePackedRefs((await readText(file)) ?? '');
  packedCache.set(file, { key, refs });
  return refs;
}
const packedCache = new Map<string, { key: string; refs: Map<string, StoredRef> }>();

/**
 * The value of one ref. `name` must already be validated (assertRef) and be `HEAD` or start
 * with `refs/`, so the path stays inside `gitdir`. Symbolic refs (`ref: refs/heads/main`) are
 * followed up to 5 levels. Resolves undefined when the ref does not exist. `packed` lets a
 * caller that looks up several names read `packed-refs` once.
 */
export async function readRef(gitdir: string, name: string, packed?: () => Promise<Map<string, StoredRef>>, depth = 0): Promise<StoredRef | undefined> {
  // Synchronous: a 41-byte file, read per request; async reads cost ~0.2 ms each in the thread pool.
  const loose = readTextSync(join(gitdir, name))?.trim();
  if (loose !== undefined) {
    if (loose.startsWith('ref: ')) {
      const target = loose.slice(5).trim();
      if (depth >= 5 || !target.startsWith('refs/') || target.split('/').some((p) => p === '..' || p === '')) return undefined;
      return readRef(gitdir, target, packed, depth + 1);
    }
    if (OID.test(loose)) return { oid: loose };
    return undefined;
  }
  if (name === 'HEAD') return undefined;
  return (await (packed ?? (() => readPackedRefs(gitdir)))()).get(name);
}

/**
 * Every ref under `prefixes` (default `refs/heads/` and `refs/tags/`), by full name, loose over
 * packed, sorted by name. Lock files and anything that is not an object id are skipped.
 */
export async function readAllRefs(gitdir: string, prefixes: readonly string[] = ['refs/heads/', 'refs/tags/']): Promise<Map<string, StoredRef>> {
  const loose = new Map<string, StoredRef>();
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(gitdir, rel), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // removed while we looked
      throw err;
    }
    await Promise.all(
      entries.map(async (e) => {
        const name = `${rel}${e.name}`;
        if (e.isDirectory()) await walk(`${name}/`);
        else if (e.isFile() && !e.name.endsWith('.lock')) {
          // Synchronous on purpose: a loose ref is 41 bytes, and hundreds of async reads through
          // libuv's thread pool took 80 ms where these take a few (measured with 500 tags).
          const text = readTextSync(join(gitdir, name))?.trim();
          if (text !== undefined && OID.test(text)) loose.set(name, { oid: text });
        }
      }),
    );
  };
  await Promise.all(prefixes.map((p) => walk(p)));
  const packed = await readPackedRefs(gitdir);
  const all = new Map<string, StoredRef>();
  for (const [name, ref] of packed) if (prefixes.some((p) => name.startsWith(p))) all.set(name, ref);
  for (const [name, ref] of loose) all.set(name, ref);
  return new Map([...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
