/**
 * Validation of the names that arrive from outside: ruleset names, agent names, git refs and
 * object ids. Each check is pure and throws an NftSyncError with a stable code that says what
 * is wrong, so a hostile name is refused before it reaches a file system or git.
 */
import { SHARED_DEFAULTS } from '../defaults.js';
import { NftSyncError } from '../errors.js';

/** A ruleset name: `rulesets/NAME.json`. Letters, digits, `_`, `-`, `.`; no leading dot; no `..`. */
export const RULESET_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
/** An agent name: a host name or an id; the same alphabet as ruleset names, longer. */
export const AGENT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$';
/** A full git object id: SHA-1 (40 hex digits) or SHA-256 (64). */
export const OBJECT_ID_PATTERN = '^([0-9a-f]{40}|[0-9a-f]{64})$';
/** Most characters a ref may have on the wire. */
export const REF_MAX_LENGTH = SHARED_DEFAULTS.names.refMaxLength;

const rulesetName = new RegExp(RULESET_NAME_PATTERN);
const agentName = new RegExp(AGENT_NAME_PATTERN);
const objectId = new RegExp(OBJECT_ID_PATTERN);

/** True when `name` is a plain ruleset name (what assertRulesetName lets through). */
export function isRulesetName(name: string): boolean {
  return rulesetName.test(name) && !name.includes('..') && !name.endsWith('.');
}

/** Throws NFTSYNC_ERR_RULESET_NAME_INVALID unless `name` is a plain ruleset name. */
export function assertRulesetName(name: string): void {
  if (!isRulesetName(name)) {
    throw new NftSyncError(
      'NFTSYNC_ERR_RULESET_NAME_INVALID',
      `ruleset name ${JSON.stringify(name.slice(0, 80))} is not a plain name: use letters, digits, '_', '-' and '.' (no '..', no '/'), at most 64 characters`,
      { data: { name: name.slice(0, 80) } },
    );
  }
}

/** True when `name` is a valid agent name. */
export function isAgentName(name: string): boolean {
  return agentName.test(name) && !name.includes('..');
}

/** True when `id` is a full lowercase git object id. */
export function isObjectId(id: string): boolean {
  return objectId.test(id);
}

/**
 * Throws NFTSYNC_ERR_REF_INVALID unless `ref` is a name git itself would accept for a branch, a
 * tag, a full ref (`refs/...`) or a commit id (full or abbreviated, at least 4 hex digits).
 * Follows `git check-ref-format`: no `..`, no control characters, none of ` ~^:?*[\`, no `@{`,
 * no component starting with `.` or ending with `.lock`, no leading `/` or `-`, no trailing `/`
 * or `.`, nothing equal to `@`.
 */
export function assertRef(ref: string): void {
  const bad = (why: string): never => {
    throw new NftSyncError(
      'NFTSYNC_ERR_REF_INVALID',
      `ref ${JSON.stringify(ref.slice(0, 80))} is not a valid branch, tag or commit: ${why}`,
      { data: { ref: ref.slice(0, 80) } },
    );
  };
  if (ref.length === 0) bad('it is empty');
  if (ref.length > REF_MAX_LENGTH) bad(`it is longer than ${REF_MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) bad('it contains a space, a control character or one of ~^:?*[\\');
  if (ref.includes('..')) bad("it contains '..'");
  if (ref.includes('@{')) bad("it contains '@{'");
  if (ref === '@') bad("'@' alone is not allowed");
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) bad('it has an empty path component');
  if (ref.startsWith('-')) bad("it starts with '-'");
  if (ref.endsWith('.')) bad("it ends with '.'");
  for (const part of ref.split('/')) {
    if (part.startsWith('.')) bad("a component starts with '.'");
    if (part.endsWith('.lock')) bad("a component ends with '.lock'");
  }
}
