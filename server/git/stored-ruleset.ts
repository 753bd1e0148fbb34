/**
 * The files a ruleset is stored as at a commit: the base `rulesets/NAME.json` and its element
 * change files `rulesets/NAME.elements/NNNNNN.json` (shared/ruleset/element-log.ts), read through
 * one `git cat-file --batch` process. What the server's own commits (element changes, published
 * live changes) build on; the wire and the API read through RulesetRepository instead.
 */
import { NftSyncError } from '../../shared/errors.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import { parseCommit, parseTree, type TreeEntry } from '../../shared/git/git-objects.js';
import { composeRuleset, type FloorCount } from '../../shared/ruleset/compose-ruleset.js';
import { CHANGE_FILE_NAME, elementsDirName } from '../../shared/ruleset/element-log.js';
import { assertRulesetName } from '../../shared/ruleset/names.js';
import type { Ruleset } from '../../shared/ruleset/ruleset-types.js';
import { GitObjectBatch } from '../push/git-object-batch.js';

export interface StoredRuleset {
  /** The commit read (`commit` peeled: a tag, or a branch a hand-edited repository points at a tag, names another id). */
  commit: string;
  /** The tree of `rulesets/` at the commit (to build the next one from). */
  rulesetsTree: string;
  base: { blob: string; mode: string; bytes: Buffer };
  /** The change files, in the order they apply (by name); names of another shape are left out. */
  changes: Array<{ file: string; blob: string; bytes: Buffer }>;
  /** Entries of `rulesets/NAME.elements/` (empty without one), as the tree holds them. */
  elementsEntries: TreeEntry[];
  /** Entries of the commit's root tree and of its `rulesets/` (to build the next trees in process). */
  rootEntries: TreeEntry[];
  rulesetsEntries: TreeEntry[];
}

/**
 * The stored files of ruleset `name` at `commit` (any commit-ish), or undefined when the commit
 * has no `rulesets/NAME.json` blob. Errors: NFTSYNC_ERR_RULESET_NAME_INVALID, NFTSYNC_ERR_REF_INVALID
 * (`commit` holds spaces or control characters),
 * NFTSYNC_ERR_REF_NOT_FOUND (no such commit), NFTSYNC_ERR_REPO_GIT_FAILED.
 */
export async function readStoredRuleset(gitdir: string, commit: string, name: string): Promise<StoredRuleset | undefined> {
  assertRulesetName(name);
  // One line of cat-file's input: nothing that could end it.
  if (!/^[\x21-\x7e]{1,1024}$/.test(commit)) throw new NftSyncError('NFTSYNC_ERR_REF_INVALID', `${JSON.stringify(commit.slice(0, 80))} is not a commit id or ref name`, { data: { ref: commit.slice(0, 80) } });
  const batch = new GitObjectBatch(gitdir);
  try {
    const c = await batch.read(`${commit}^{commit}`);
    if (c?.type !== 'commit') throw new NftSyncError('NFTSYNC_ERR_REF_NOT_FOUND', `no commit ${commit.slice(0, 40)} in the repository`, { data: { ref: commit } });
    const algorithm = objectIdAlgorithm(c.oid);
    const tree = async (id: string): Promise<TreeEntry[]> => {
      const o = await batch.read(id);
      if (o?.type !== 'tree') throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `git could not read tree ${id}`);
      return parseTree(o.content, algorithm);
    };
    const blob = async (id: string): Promise<Buffer> => {
      const o = await batch.read(id);
      if (o?.type !== 'blob') throw new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `git could not read blob ${id}`);
      return o.content;
    };
    const rootEntries = await tree(parseCommit(c.content).tree);
    const dir = rootEntries.find((e) => e.name === 'rulesets' && e.mode === '40000');
    if (dir === undefined) return undefined;
    const entries = await tree(dir.id);
    const file = entries.find((e) => e.name === `${name}.json` && /^1006[0-7]{2}$/.test(e.mode));
    if (file === undefined) return undefined;
    const elements = entries.find((e) => e.name === elementsDirName(name) && e.mode === '40000');
    const elementsEntries = elements === undefined ? [] : await tree(elements.id);
    const changes: StoredRuleset['changes'] = [];
    for (const e of elementsEntries.filter((x) => CHANGE_FILE_NAME.test(x.name) && /^1006[0-7]{2}$/.test(x.mode)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      changes.push({ file: e.name, blob: e.id, bytes: await blob(e.id) });
    }
    return { commit: c.oid, rulesetsTree: dir.id, base: { blob: file.id, mode: file.mode, bytes: await blob(file.id) }, changes, elementsEntries, rootEntries, rulesetsEntries: entries };
  } finally {
    batch.close();
  }
}

/** The effective ruleset of `stored`, parsed (shared/ruleset/compose-ruleset.ts; its errors; `added` filled in as there). */
export function composeStored(name: string, stored: StoredRuleset, added?: FloorCount): Ruleset {
  const dir = `rulesets/${elementsDirName(name)}`;
  return composeRuleset({ path: `rulesets/${name}.json`, bytes: stored.base.bytes }, stored.changes.map((c) => ({ path: `${dir}/${c.file}`, bytes: c.bytes })), added);
}
