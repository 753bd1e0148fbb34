/**
 * Semantic versions in tag names, for `--track-tags PATTERN`: an agent follows the highest
 * version among the tags that match.
 *
 * A tag is a version when it is `[PREFIX-][v]MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]` (semver
 * 2.0.0, with an optional leading `v` and an optional prefix ending in `-` or `_`, as in
 * `release-1.2.3`); other tags are ignored. Precedence follows semver: numeric fields
 * compared as numbers, a pre-release below its release, pre-release identifiers compared one by
 * one (numeric below alphanumeric), build metadata ignored.
 */
import { compileAgentGlob, matchAgentGlob } from '../config/agent-glob.js';
import { NftSyncError } from '../errors.js';

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
}

const SEMVER = /^(?:[A-Za-z0-9_.-]*?[-_])??v?(0|[1-9]\d{0,15})\.(0|[1-9]\d{0,15})\.(0|[1-9]\d{0,15})(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** The version a tag name denotes, or undefined when it is not a semantic version. */
export function parseSemver(tag: string): SemVer | undefined {
  const m = SEMVER.exec(tag);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ? m[4].split('.') : [] };
}

/** Negative, zero or positive as `a` is below, equal to or above `b` in semver precedence. */
export function compareSemver(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] - b[k];
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return b.prerelease.length - a.prerelease.length;
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn && Number(x) !== Number(y)) return Number(x) - Number(y);
    if (xn !== yn) return xn ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Throws NFTSYNC_ERR_REF_INVALID unless `pattern` is a usable tag pattern: a glob of `*`, `?`
 * and `[...]` over letters, digits, `_`, `.` and `-` (tags outside that alphabet cannot match).
 */
export function assertTagPattern(pattern: string): void {
  try {
    compileAgentGlob(pattern);
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_REF_INVALID', `tag pattern ${JSON.stringify(pattern.slice(0, 80))} is not valid: use *, ? and [...] over letters, digits, '_', '.' and '-'`, { cause: err });
  }
}

/**
 * The highest semantic version among `tags` matching `pattern`, or undefined when none does.
 * Errors: NFTSYNC_ERR_REF_INVALID for a bad pattern.
 */
export function highestTag(tags: Iterable<string>, pattern: string): string | undefined {
  assertTagPattern(pattern);
  const glob = compileAgentGlob(pattern);
  let best: { tag: string; v: SemVer } | undefined;
  for (const tag of tags) {
    const v = parseSemver(tag);
    if (!v || !matchAgentGlob(glob, tag)) continue;
    if (!best || compareSemver(v, best.v) > 0) best = { tag, v };
  }
  return best?.tag;
}

/**
 * The tag of the next patch release after `tag`, spelled the same way (prefix, `v`): `v1.2.3`
 * gives `v1.2.4`; a pre-release gives its release (`v1.3.0-rc.1` gives `v1.3.0`, which is above
 * it); build metadata is dropped. Undefined when `tag` is not a semantic version.
 */
export function nextPatchTag(tag: string): string | undefined {
  const v = parseSemver(tag);
  if (!v) return undefined;
  const at = tag.search(/v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:[-+][0-9A-Za-z.+-]*)?$/);
  const head = tag.slice(0, at) + (tag[at] === 'v' ? 'v' : '');
  const patch = v.prerelease.length > 0 ? v.patch : v.patch + 1;
  return `${head}${v.major}.${v.minor}.${patch}`;
}
