/**
 * Glob patterns over agent names, as used by `match:` in a repository's `nft-sync.yaml`.
 *
 * Grammar (the whole pattern must match the whole name; matching is case-sensitive):
 *   pattern := token*            at most AGENT_GLOB_MAX_LENGTH characters
 *   token   := '*'               any run of characters, possibly empty
 *            | '?'               exactly one character
 *            | '[' '!'? item+ ']' one character in (or, with '!', not in) the class
 *            | CHAR              itself; CHAR is one of the agent-name alphabet A-Z a-z 0-9 _ . -
 *   item    := CHAR | CHAR '-' CHAR   a single character or an inclusive range (lo <= hi);
 *                                     a '-' first or last in the class is literal
 * Examples: `web-*`, `db-[0-9]*`, `edge-??`, `[!t]*`.
 *
 * Why not a regular expression: patterns come from a repository anyone with push access edits,
 * and a regex built from them invites injection and catastrophic backtracking. This matcher
 * never backtracks more than one segment: the pattern is cut at its stars into fixed-length
 * segments, the first anchored at the start, the last at the end, and each middle one taken at
 * its leftmost fit (leftmost is always safe when the gaps between segments are free). The cost
 * is at most O(name length x pattern length), both bounded (253 x 256), with no exponential case.
 */
import { SHARED_DEFAULTS } from '../defaults.js';
import { NftSyncError } from '../errors.js';

/** Longest pattern accepted. */
export const AGENT_GLOB_MAX_LENGTH = SHARED_DEFAULTS.names.agentGlobMaxLength;

/** One fixed-width position of a segment: a literal character, any character, or a class. */
type Atom =
  | { kind: 'char'; char: string }
  | { kind: 'any' }
  | { kind: 'class'; negated: boolean; ranges: Array<[string, string]> };

/** A compiled pattern: the fixed-length segments between stars, and whether stars surround them. */
export interface AgentGlob {
  readonly source: string;
  /** Segments between `*`s; with no star there is exactly one. */
  readonly segments: readonly (readonly Atom[])[];
  /** False when the pattern has no `*`: then the name must be exactly segments[0] long. */
  readonly hasStar: boolean;
}

const PLAIN = /^[A-Za-z0-9_.-]$/;

/**
 * Compile `pattern` (grammar above). Throws NftSyncError NFTSYNC_ERR_REPO_CONFIG_INVALID with
 * `data.pattern` and a message saying what is wrong (unknown character, unclosed or empty class,
 * reversed range, too long); callers add the field path.
 */
export function compileAgentGlob(pattern: string): AgentGlob {
  const bad = (why: string): never => {
    throw new NftSyncError('NFTSYNC_ERR_REPO_CONFIG_INVALID', `pattern ${JSON.stringify(pattern.slice(0, 80))} ${why}`, {
      data: { pattern: pattern.slice(0, 80) },
    });
  };
  if (pattern.length === 0) bad('is empty');
  if (pattern.length > AGENT_GLOB_MAX_LENGTH) bad(`is longer than ${AGENT_GLOB_MAX_LENGTH} characters`);
  const segments: Atom[][] = [[]];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '*') {
      // Consecutive stars are one star; an empty segment between them changes nothing.
      if ((segments[segments.length - 1] as Atom[]).length > 0 || segments.length === 1) segments.push([]);
      i++;
    } else if (c === '?') {
      (segments[segments.length - 1] as Atom[]).push({ kind: 'any' });
      i++;
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) bad(`has an unclosed '[' at position ${i}: close it with ']'`);
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      if (body.length === 0) bad(`has an empty class at position ${i}`);
      const ranges: Array<[string, string]> = [];
      for (let j = 0; j < body.length; j++) {
        const lo = body[j] as string;
        if (!PLAIN.test(lo)) bad(`has ${JSON.stringify(lo)} in a class: only letters, digits, '_', '.', '-' are allowed`);
        if (body[j + 1] === '-' && j + 2 < body.length) {
          const hi = body[j + 2] as string;
          if (!PLAIN.test(hi)) bad(`has ${JSON.stringify(hi)} in a class: only letters, digits, '_', '.', '-' are allowed`);
          if (hi < lo) bad(`has a reversed range '${lo}-${hi}'`);
          ranges.push([lo, hi]);
          j += 2;
        } else {
          ranges.push([lo, lo]);
        }
      }
      (segments[segments.length - 1] as Atom[]).push({ kind: 'class', negated, ranges });
      i = close + 1;
    } else if (PLAIN.test(c)) {
      (segments[segments.length - 1] as Atom[]).push({ kind: 'char', char: c });
      i++;
    } else {
      bad(`has ${JSON.stringify(c)} at position ${i}: use letters, digits, '_', '.', '-' and the wildcards * ? [...]`);
    }
  }
  return { source: pattern, segments, hasStar: segments.length > 1 };
}

function atomMatches(atom: Atom, c: string): boolean {
  switch (atom.kind) {
    case 'char':
      return atom.char === c;
    case 'any':
      return true;
    case 'class': {
      const inside = atom.ranges.some(([lo, hi]) => lo <= c && c <= hi);
      return inside !== atom.negated;
    }
  }
}

function segmentMatchesAt(segment: readonly Atom[], name: string, at: number): boolean {
  if (at + segment.length > name.length) return false;
  for (let k = 0; k < segment.length; k++) {
    if (!atomMatches(segment[k] as Atom, name[at + k] as string)) return false;
  }
  return true;
}

/** True when the whole of `name` matches the compiled glob. Pure; never throws. */
export function matchAgentGlob(glob: AgentGlob, name: string): boolean {
  const segs = glob.segments;
  const first = segs[0] as readonly Atom[];
  if (!glob.hasStar) return first.length === name.length && segmentMatchesAt(first, name, 0);
  const last = segs[segs.length - 1] as readonly Atom[];
  if (first.length + last.length > name.length) return false;
  if (!segmentMatchesAt(first, name, 0)) return false;
  const end = name.length - last.length;
  if (!segmentMatchesAt(last, name, end)) return false;
  // Middle segments, leftmost fit each, within [first.length, end).
  let pos = first.length;
  for (let s = 1; s < segs.length - 1; s++) {
    const seg = segs[s] as readonly Atom[];
    let found = -1;
    for (let at = pos; at + seg.length <= end; at++) {
      if (segmentMatchesAt(seg, name, at)) {
        found = at;
        break;
      }
    }
    if (found < 0) return false;
    pos = found + seg.length;
  }
  return true;
}
