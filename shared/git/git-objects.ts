/**
 * Parsers for the raw git objects a release proof carries (tag, commit, tree), and their ids,
 * so an agent can walk from a signed tag to the ruleset's blob without trusting the server.
 * Pure: bytes in, fields out. Every parser throws NFTSYNC_ERR_VERIFY_CHAIN on bytes that are
 * not a well-formed object of its kind.
 */
import { createHash } from 'node:crypto';
import { NftSyncError } from '../errors.js';

export type GitObjectType = 'tag' | 'commit' | 'tree' | 'blob';

/** The id of a git object: the hex hash of `"<type> <length>\0"` followed by its content. */
export function gitObjectId(type: GitObjectType, content: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  return createHash(algorithm).update(`${type} ${content.length}\0`).update(content).digest('hex');
}

function bad(what: string): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_VERIFY_CHAIN', what);
}

/** Header lines (up to the first blank line) and the rest, as git writes tags and commits. */
function splitHeaders(content: Buffer, kind: string): { headers: [string, string][]; bodyStart: number } {
  const end = content.indexOf('\n\n');
  const head = content.subarray(0, end === -1 ? content.length : end).toString('utf8');
  const headers: [string, string][] = [];
  for (const line of head.split('\n')) {
    // Continuation lines (a leading space: gpgsig, mergetag) belong to the previous header.
    if (line.startsWith(' ')) {
      if (headers.length === 0) throw bad(`${kind} object starts with a continuation line`);
      headers[headers.length - 1]![1] += `\n${line.slice(1)}`;
      continue;
    }
    const sp = line.indexOf(' ');
    if (sp <= 0) throw bad(`${kind} object has a malformed header line ${JSON.stringify(line.slice(0, 60))}`);
    headers.push([line.slice(0, sp), line.slice(sp + 1)]);
  }
  return { headers, bodyStart: end === -1 ? content.length : end + 2 };
}

function one(headers: [string, string][], name: string, kind: string): string {
  const found = headers.filter(([k]) => k === name);
  if (found.length !== 1) throw bad(`${kind} object has ${found.length} "${name}" headers, expected 1`);
  return found[0]![1];
}

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface ParsedTag {
  /** Id of the tagged object. */
  object: string;
  type: GitObjectType;
  /** The tag's name. */
  tag: string;
  /** The whole tagger line value: `Name <email> seconds tz`. */
  tagger: string;
  /** The email in the tagger line (the principal an SSH signature is checked for). */
  taggerEmail: string;
  /** The tagger's time stamp in seconds since the epoch. */
  taggerTime: number;
  /** The bytes the signature covers: the object up to the signature block. */
  payload: Buffer;
  /** The armored signature block (`-----BEGIN ... SIGNATURE-----` to its END line), if any. */
  signature?: string;
}

/**
 * Parse a tag object. git appends a tag's signature to its message; the signed payload is
 * everything before the last line that starts a signature block (as git's parse_signature).
 */
export function parseTag(content: Buffer): ParsedTag {
  const { headers, bodyStart } = splitHeaders(content, 'tag');
  const object = one(headers, 'object', 'tag');
  const type = one(headers, 'type', 'tag');
  const tag = one(headers, 'tag', 'tag');
  const tagger = one(headers, 'tagger', 'tag');
  if (!OID.test(object)) throw bad(`tag object names ${JSON.stringify(object.slice(0, 70))}, not an object id`);
  if (!['tag', 'commit', 'tree', 'blob'].includes(type)) throw bad(`tag object has type ${JSON.stringify(type.slice(0, 20))}`);
  const m = /^(.*) <([^<>]*)> (\d+) [+-]\d{4}$/.exec(tagger);
  if (!m) throw bad(`tag object has a malformed tagger line ${JSON.stringify(tagger.slice(0, 100))}`);
  let sigStart = -1;
  for (const marker of ['-----BEGIN SSH SIGNATURE-----', '-----BEGIN PGP SIGNATURE-----', '-----BEGIN SIGNED MESSAGE-----']) {
    for (let at = content.indexOf(marker, bodyStart); at !== -1; at = content.indexOf(marker, at + 1)) {
      if (content[at - 1] === 0x0a && at > sigStart) sigStart = at;
    }
  }
  const payload = sigStart === -1 ? content : content.subarray(0, sigStart);
  const signature = sigStart === -1 ? undefined : content.subarray(sigStart).toString('utf8');
  return { object, type: type as GitObjectType, tag, tagger, taggerEmail: m[2]!, taggerTime: Number(m[3]), payload: Buffer.from(payload), signature };
}

/** Parse a commit object: its tree and parents. */
export function parseCommit(content: Buffer): { tree: string; parents: string[] } {
  const { headers } = splitHeaders(content, 'commit');
  const tree = one(headers, 'tree', 'commit');
  if (!OID.test(tree)) throw bad(`commit names tree ${JSON.stringify(tree.slice(0, 70))}, not an object id`);
  return { tree, parents: headers.filter(([k]) => k === 'parent').map(([, v]) => v) };
}

export interface TreeEntry {
  /** Octal mode as git writes it: 100644, 100755, 40000, 120000, 160000. */
  mode: string;
  name: string;
  id: string;
}

/**
 * Parse a tree object: entries of `<mode> SP <name> NUL <raw id>`; the id is 20 bytes (SHA-1)
 * or 32 (SHA-256, `algorithm: 'sha256'`).
 */
export function parseTree(content: Buffer, algorithm: 'sha1' | 'sha256' = 'sha1'): TreeEntry[] {
  const idLen = algorithm === 'sha256' ? 32 : 20;
  const entries: TreeEntry[] = [];
  let at = 0;
  while (at < content.length) {
    const sp = content.indexOf(0x20, at);
    const nul = sp === -1 ? -1 : content.indexOf(0, sp);
    if (sp === -1 || nul === -1 || nul + 1 + idLen > content.length) throw bad(`tree entry at byte ${at} is truncated`);
    const mode = content.subarray(at, sp).toString('latin1');
    if (!/^[0-7]{5,6}$/.test(mode)) throw bad(`tree entry at byte ${at} has mode ${JSON.stringify(mode.slice(0, 10))}`);
    const name = content.subarray(sp + 1, nul).toString('utf8');
    if (name === '' || name.includes('/')) throw bad(`tree entry at byte ${at} has name ${JSON.stringify(name.slice(0, 60))}`);
    entries.push({ mode, name, id: content.subarray(nul + 1, nul + 1 + idLen).toString('hex') });
    at = nul + 1 + idLen;
  }
  return entries;
}

/**
 * The content of a tree object holding `entries` (names without `/`, modes as git writes them:
 * `40000` for a tree), in git's order: by name, a tree's name compared as if it ended in `/`.
 * What `git mktree` writes for the same entries. Pure; never throws on valid entries.
 */
export function serializeTree(entries: readonly TreeEntry[]): Buffer {
  const sortKey = (e: TreeEntry): Buffer => Buffer.from(e.mode === '40000' || e.mode === '040000' ? `${e.name}/` : e.name);
  const sorted = entries.map((e) => ({ e, k: sortKey(e) })).sort((a, b) => Buffer.compare(a.k, b.k));
  return Buffer.concat(sorted.flatMap(({ e }) => [Buffer.from(`${e.mode.replace(/^0+(?=[1-7])/, '')} ${e.name}\0`), Buffer.from(e.id, 'hex')]));
}

/** Who made a commit: a name, an address, and when (seconds since the epoch, UTC). */
export interface CommitIdent {
  name: string;
  email: string;
  seconds: number;
}

/**
 * The content of a commit object of `tree` with `parents`, `author`, `committer` and `message`,
 * as `git commit-tree` writes it with a UTC time. Angle brackets and line breaks are taken out
 * of names and addresses (git does the same). Pure.
 */
export function serializeCommit(c: { tree: string; parents: readonly string[]; author: CommitIdent; committer: CommitIdent; message: string }): Buffer {
  const clean = (s: string): string => s.replace(/[<>\n\r\0]/g, '').trim() || 'unknown';
  const who = (i: CommitIdent): string => `${clean(i.name)} <${clean(i.email)}> ${Math.floor(i.seconds)} +0000`;
  const head = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${who(c.author)}`, `committer ${who(c.committer)}`];
  return Buffer.from(`${head.join('\n')}\n\n${c.message}`);
}
