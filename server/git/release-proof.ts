/**
 * The server's half of signed releases: the raw git objects from a tag to a ruleset (the tag
 * chain, the commit, the root tree, the `rulesets` tree, and for an agent that lets the server
 * choose its ruleset the `nft-sync.yaml` blob) so the agent can check the whole path, and the
 * mapping, itself. The server checks no signature; it only finds and sends the objects.
 */
import { NftSyncError } from '../../shared/errors.js';
import { parseCommit, parseTag, parseTree } from '../../shared/git/git-objects.js';
import { objectIdAlgorithm } from '../../shared/git/git-blob-id.js';
import type { ProofObject } from '../../shared/release/release-proof.js';
import { REPO_CONFIG_PATH } from '../../shared/config/repo-config.js';
import { elementsDirName } from '../../shared/ruleset/element-log.js';
import { SERVER_DEFAULTS } from '../defaults.js';

/** What building a proof needs from the repository (RulesetRepository has it). */
export interface ProofReader {
  readRawObject(oid: string): Promise<{ type: string; content: Buffer }>;
  tagObjectId(ref: string): Promise<string | undefined>;
}

/** The proof reader of a source. Errors: NFTSYNC_ERR_PROOF_UNAVAILABLE when it cannot read raw objects. */
export function proofReader(source: Partial<ProofReader>): ProofReader {
  const { readRawObject, tagObjectId } = source;
  if (!readRawObject || !tagObjectId) throw new NftSyncError('NFTSYNC_ERR_PROOF_UNAVAILABLE', 'this server cannot send release proofs');
  return { readRawObject: readRawObject.bind(source), tagObjectId: tagObjectId.bind(source) };
}

/** Most tags in a chain (a tag of a tag of ...); git itself stops peeling at about this depth. */
const MAX_TAG_CHAIN = SERVER_DEFAULTS.repository.maxTagChain;

/**
 * The tag chain `ref` names, down to its commit. `ref` must be an annotated tag (a signed
 * release); errors: NFTSYNC_ERR_PROOF_UNAVAILABLE (no such tag, a lightweight tag, a chain
 * that does not end at a commit), NFTSYNC_ERR_REF_NOT_FOUND (a missing object).
 */
export async function readTagChain(reader: ProofReader, ref: string): Promise<{ commit: string; objects: ProofObject[] }> {
  let oid = await reader.tagObjectId(ref);
  if (oid === undefined) throw new NftSyncError('NFTSYNC_ERR_PROOF_UNAVAILABLE', `${ref} is not a tag; a signed-release agent must follow a tag made with git tag -s`);
  const objects: ProofObject[] = [];
  for (;;) {
    const { type, content } = await reader.readRawObject(oid);
    if (type === 'commit') {
      if (objects.length === 0) throw new NftSyncError('NFTSYNC_ERR_PROOF_UNAVAILABLE', `tag ${ref} is a lightweight tag (no tag object, so no signature)`);
      return { commit: oid, objects };
    }
    if (type !== 'tag' || objects.length >= MAX_TAG_CHAIN) {
      throw new NftSyncError('NFTSYNC_ERR_PROOF_UNAVAILABLE', `tag ${ref} does not lead to a commit`);
    }
    objects.push({ type: 'tag', id: oid, content });
    oid = parseTag(content).object;
  }
}

/**
 * The commit, root tree and `rulesets` tree objects on the path from `commit` to
 * `rulesets/NAME.json`; with `withConfig` (the agent named no ruleset, so the server chose it by
 * `nft-sync.yaml`), then the blob of `nft-sync.yaml` when the commit has one.
 * Errors: NFTSYNC_ERR_RULESET_NOT_FOUND, NFTSYNC_ERR_REF_NOT_FOUND, NFTSYNC_ERR_PROOF_UNAVAILABLE
 * when the ruleset has element change files (`rulesets/NAME.elements/`): the proof ties the tag
 * to the blob of `rulesets/NAME.json`, and the ruleset served is that base composed with its
 * change files, so no proof can cover it until they are folded into the base.
 */
export async function readRulesetPath(reader: ProofReader, commit: string, name: string, opts: { withConfig?: boolean } = {}): Promise<ProofObject[]> {
  const algorithm = objectIdAlgorithm(commit);
  const read = async (oid: string, want: ProofObject['type']): Promise<ProofObject> => {
    const { type, content } = await reader.readRawObject(oid);
    if (type !== want) throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `object ${oid} is a ${type}, expected a ${want}`);
    return { type: want, id: oid, content };
  };
  const c = await read(commit, 'commit');
  const root = await read(parseCommit(c.content).tree, 'tree');
  const rootEntries = parseTree(root.content, algorithm);
  const entry = rootEntries.find((e) => e.name === 'rulesets' && e.mode === '40000');
  if (!entry) throw new NftSyncError('NFTSYNC_ERR_RULESET_NOT_FOUND', `commit ${commit} has no rulesets directory`, { data: { ruleset: name, commit } });
  const rulesets = await read(entry.id, 'tree');
  if (parseTree(rulesets.content, algorithm).some((e) => e.name === elementsDirName(name) && e.mode === '40000')) {
    throw new NftSyncError(
      'NFTSYNC_ERR_PROOF_UNAVAILABLE',
      `ruleset ${name} at ${commit.slice(0, 12)} has element change files (rulesets/${elementsDirName(name)}/), which a signed release cannot prove: fold them into rulesets/${name}.json (nft-sync set fold, or by hand) and tag that commit`,
      { data: { ruleset: name, commit } },
    );
  }
  const path = [c, root, rulesets];
  const config = opts.withConfig ? rootEntries.find((e) => e.name === REPO_CONFIG_PATH) : undefined;
  if (config) path.push(await read(config.id, 'blob'));
  return path;
}
