/**
 * The agent's check of a release proof: the raw git objects from a signed tag to a ruleset. It
 * hashes every object itself, then walks tag → (tag …) → commit → root tree → `rulesets` tree →
 * `NAME.json` and requires the walk to end at exactly the commit and blob the server announced.
 * When the server chose the ruleset (the agent named none), the proof also carries the blob of
 * `nft-sync.yaml` at that commit, and the ruleset must be the one that file gives the agent, so a
 * signed commit's other rulesets cannot be passed off as this agent's.
 * The signature itself is checked by the caller (ssh-keygen, IO) over the payload returned here.
 */
import { NftSyncError } from '../errors.js';
import { objectIdAlgorithm } from '../git/git-blob-id.js';
import { gitObjectId, parseCommit, parseTag, parseTree, type ParsedTag } from '../git/git-objects.js';
import { parseRepoConfig, REPO_CONFIG_PATH, rulesetForAgent, type RepoConfig } from '../config/repo-config.js';

/** One raw git object of a proof. */
export interface ProofObject {
  type: 'tag' | 'commit' | 'tree' | 'blob';
  /** The id the server claims for it. */
  id: string;
  /** The object's content (without the `<type> <len>\0` header). */
  content: Buffer;
}

/** What the server said it sent, and what the agent asked for. */
export interface ReleaseClaim {
  /** The ref the agent follows: the tag's name, or `refs/tags/` + it. */
  ref: string;
  /** The ruleset the agent asked for or, when it named none, the one the server chose. */
  ruleset: string;
  commit: string;
  blob: string;
  /**
   * Set when the agent named no ruleset: its name. The proof must then carry `nft-sync.yaml` at
   * the commit (when the commit has one), and that file must give this agent `ruleset`
   * (`default` without the file).
   */
  agent?: string;
}

export interface CheckedRelease {
  /** The outermost tag, whose signature the caller must verify. */
  tag: ParsedTag;
  tagId: string;
}

function chain(msg: string, data?: Record<string, unknown>): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_VERIFY_CHAIN', msg, { data });
}

/**
 * Check `objects` (in the order tag…, commit, root tree, rulesets tree, and with `claim.agent`
 * the `nft-sync.yaml` blob) against `claim`. Returns the outermost tag for the signature check.
 * Errors: NFTSYNC_ERR_VERIFY_CHAIN (an object that does not hash to its id, a broken link, a walk
 * that ends elsewhere, a tag with another name, a missing `nft-sync.yaml` blob, a ruleset the
 * signed `nft-sync.yaml` does not give the agent, objects left over),
 * NFTSYNC_ERR_REPO_CONFIG_INVALID (the signed `nft-sync.yaml` cannot be parsed),
 * NFTSYNC_ERR_VERIFY_SIGNATURE (the tag carries no SSH signature).
 */
export function checkReleaseProof(objects: readonly ProofObject[], claim: ReleaseClaim): CheckedRelease {
  const algorithm = objectIdAlgorithm(claim.commit);
  for (const o of objects) {
    const actual = gitObjectId(o.type, o.content, algorithm);
    if (actual !== o.id) throw chain(`the ${o.type} the server calls ${o.id} hashes to ${actual}: its bytes were altered`, { type: o.type, claimed: o.id, actual });
  }
  let i = 0;
  const next = (type: ProofObject['type'], id: string, why: string): ProofObject => {
    const o = objects[i++];
    if (!o) throw chain(`proof ends before ${why} (${type} ${id})`);
    if (o.type !== type || o.id !== id) throw chain(`${why} is ${type} ${id}, but the proof has ${o.type} ${o.id} there`, { expected: id, got: o.id });
    return o;
  };
  const first = objects[0];
  if (!first || first.type !== 'tag') throw chain('proof does not start with a tag object');
  const tag = parseTag(first.content);
  const want = claim.ref.startsWith('refs/tags/') ? claim.ref.slice('refs/tags/'.length) : claim.ref;
  // Without this a server could hand out another signed tag (an older release) for this ref.
  if (tag.tag !== want) throw chain(`the signed tag is named ${JSON.stringify(tag.tag)}, but the agent follows ${JSON.stringify(want)}`, { tag: tag.tag, ref: want });
  let t = tag;
  i = 1;
  while (t.type === 'tag') t = parseTag(next('tag', t.object, `the object tag ${t.tag} points to`).content);
  if (t.type !== 'commit') throw chain(`tag ${t.tag} points to a ${t.type}, not a commit`);
  if (t.object !== claim.commit) throw chain(`the tag points to commit ${t.object}, but the server announced ${claim.commit}`, { tagged: t.object, announced: claim.commit });
  const commit = parseCommit(next('commit', claim.commit, 'the tagged commit').content);
  const root = parseTree(next('tree', commit.tree, `the tree of commit ${claim.commit.slice(0, 12)}`).content, algorithm);
  const dir = root.find((e) => e.name === 'rulesets');
  if (!dir || dir.mode !== '40000') throw chain(`commit ${claim.commit.slice(0, 12)} has no rulesets directory`);
  const entries = parseTree(next('tree', dir.id, 'the rulesets tree').content, algorithm);
  const file = entries.find((e) => e.name === `${claim.ruleset}.json`);
  if (!file || !/^1006[0-7]{2}$/.test(file.mode)) throw chain(`commit ${claim.commit.slice(0, 12)} has no file rulesets/${claim.ruleset}.json`);
  if (file.id !== claim.blob) throw chain(`rulesets/${claim.ruleset}.json is blob ${file.id} at that commit, but the server announced ${claim.blob}`, { inTree: file.id, announced: claim.blob });
  if (claim.agent !== undefined) {
    const entry = root.find((e) => e.name === REPO_CONFIG_PATH);
    let config: RepoConfig | undefined;
    if (entry) {
      if (!/^1006[0-7]{2}$/.test(entry.mode)) throw chain(`${REPO_CONFIG_PATH} at commit ${claim.commit.slice(0, 12)} is not a regular file`);
      config = parseRepoConfig(next('blob', entry.id, `${REPO_CONFIG_PATH} at commit ${claim.commit.slice(0, 12)}`).content.toString('utf8'));
    }
    const mapped = rulesetForAgent(config, claim.agent);
    if (mapped !== claim.ruleset) {
      throw chain(
        `${entry ? `the signed ${REPO_CONFIG_PATH}` : `commit ${claim.commit.slice(0, 12)} has no ${REPO_CONFIG_PATH}, so it`} gives agent ${claim.agent} ruleset ${mapped}, but the server sent ${claim.ruleset}`,
        { agent: claim.agent, mapped, served: claim.ruleset },
      );
    }
  }
  if (i !== objects.length) throw chain(`proof carries ${objects.length - i} object(s) beyond the path`);
  if (!tag.signature) throw new NftSyncError('NFTSYNC_ERR_VERIFY_SIGNATURE', `tag ${tag.tag} is not signed`, { data: { tag: tag.tag } });
  if (!tag.signature.startsWith('-----BEGIN SSH SIGNATURE-----')) {
    throw new NftSyncError('NFTSYNC_ERR_VERIFY_SIGNATURE', `tag ${tag.tag} carries a signature that is not an SSH signature (only gpg.format=ssh is supported)`, { data: { tag: tag.tag } });
  }
  return { tag, tagId: first.id };
}
