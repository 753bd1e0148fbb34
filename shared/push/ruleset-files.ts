/**
 * Which files of a commit make which ruleset: `rulesets/NAME.json` (the base) and the element
 * change files `rulesets/NAME.elements/NNNNNN.json` applied on it (shared/ruleset/element-log.ts).
 * Pure: the push validator lists the commit's files and judges each ruleset these make, composed.
 */
import { CHANGE_FILE_NAME, elementsDirName, MAX_STORED_CHANGE_FILES } from '../ruleset/element-log.js';

/** A file of a commit under `rulesets/` (or nft-sync.yaml): path, blob id, octal mode. */
export interface CommitFile {
  path: string;
  blob: string;
  mode: string;
}

/** One ruleset as stored: its base file and its change files in the order they apply. */
export interface RulesetFiles {
  name: string;
  base: CommitFile;
  changes: CommitFile[];
  /** Same files, same key: what the validator judges once per push. */
  key: string;
}

/** A problem of the layout (push-checks.ts LayoutProblem's shape). */
export interface LayoutProblem {
  path: string;
  blob?: string;
  code: 'NFTSYNC_ERR_RULESET_NAME_INVALID' | 'NFTSYNC_ERR_RULESET_NOT_FOUND' | 'NFTSYNC_ERR_RULESET_TOO_COMPLEX';
  message: string;
}

const REGULAR = /^1006[0-7]{2}$/;
const CHANGE_PATH = /^rulesets\/([^/]+)\.elements\/(.+)$/;

/**
 * The rulesets `files` make, by name, and what is wrong with their layout: a file in
 * `rulesets/NAME.elements/` that is not a regular file named NNNNNN.json
 * (NFTSYNC_ERR_RULESET_NAME_INVALID), change files of a ruleset without `rulesets/NAME.json`
 * (NFTSYNC_ERR_RULESET_NOT_FOUND, one problem naming the directory), more than
 * MAX_STORED_CHANGE_FILES change files for one ruleset (NFTSYNC_ERR_RULESET_TOO_COMPLEX, one
 * problem naming the directory; that ruleset is left out of `rulesets`). Other paths (including
 * other `.json` files, which the ruleset checks judge) are left to the caller. Never throws.
 */
export function rulesetFilesOf(files: Iterable<CommitFile>): { rulesets: Map<string, RulesetFiles>; problems: LayoutProblem[] } {
  const bases = new Map<string, CommitFile>();
  const changes = new Map<string, CommitFile[]>();
  const problems: LayoutProblem[] = [];
  for (const f of files) {
    const base = /^rulesets\/([^/]+)\.json$/.exec(f.path);
    if (base) {
      bases.set(base[1]!, f);
      continue;
    }
    const change = CHANGE_PATH.exec(f.path);
    if (!change) continue;
    const [, name, file] = change as unknown as [string, string, string];
    if (!CHANGE_FILE_NAME.test(file) || !REGULAR.test(f.mode)) {
      problems.push({ path: f.path, blob: f.blob, code: 'NFTSYNC_ERR_RULESET_NAME_INVALID', message: `rulesets/${elementsDirName(name)}/ holds only element change files, regular files named NNNNNN.json (six digits): move or delete ${JSON.stringify(file)}` });
      continue;
    }
    // Appended in place: copying the list per file made 100,000 change files cost 90 s.
    const list = changes.get(name);
    if (list === undefined) changes.set(name, [f]);
    else list.push(f);
  }
  const rulesets = new Map<string, RulesetFiles>();
  for (const [name, list] of changes) {
    if (bases.has(name)) continue;
    problems.push({ path: `rulesets/${elementsDirName(name)}/`, code: 'NFTSYNC_ERR_RULESET_NOT_FOUND', message: `rulesets/${elementsDirName(name)}/ holds ${list.length} element change file${list.length === 1 ? '' : 's'} but there is no rulesets/${name}.json for them to change: add the base ruleset, or delete the directory` });
  }
  for (const [name, list] of changes) {
    if (!bases.has(name) || list.length <= MAX_STORED_CHANGE_FILES) continue;
    bases.delete(name);
    problems.push({ path: `rulesets/${elementsDirName(name)}/`, code: 'NFTSYNC_ERR_RULESET_TOO_COMPLEX', message: `rulesets/${elementsDirName(name)}/ holds ${list.length} element change files, more than the ${MAX_STORED_CHANGE_FILES} a ruleset may have: fold them into rulesets/${name}.json (nft-sync set fold)` });
  }
  for (const [name, base] of bases) {
    const list = (changes.get(name) ?? []).sort((a, b) => (a.path < b.path ? -1 : 1));
    rulesets.set(name, { name, base, changes: list, key: [`${base.mode}:${base.blob}`, ...list.map((f) => `${f.path.slice(f.path.lastIndexOf('/') + 1)}:${f.mode}:${f.blob}`)].join(',') });
  }
  return { rulesets, problems };
}
