/**
 * The running server's side of `publish` (agent --publish): who may publish, one publish at a
 * time, a warm scratch namespace for the push validator, and the log line of each outcome.
 *
 * Who may: a connection whose hello carried a write credential (a token from --token-file, or
 * under mutual TLS the agent's certificate), for an agent that `nft-sync.yaml` on the default
 * branch lists among the ruleset's `publishers`.
 */
import type { Logger } from 'pino';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { mayPublish, REPO_CONFIG_PATH, type RepoConfig } from '../../shared/config/repo-config.js';
import { validatePush } from '../push/push-validator.js';
import { ScratchPool } from '../../host/scratch-pool.js';
import { publishRevision, type PublishResult } from './publish-revision.js';

export interface PublishServiceOptions {
  gitdir: string;
  logger: Logger;
  /** The default branch's commit, and nft-sync.yaml at a commit (the repository's readers). */
  resolveRef(ref: string): Promise<string>;
  repoConfig(commit: string): Promise<RepoConfig | undefined>;
  /** Load published rulesets into a scratch namespace: 'auto' (when root, default) or 'off'. */
  nft?: 'auto' | 'off';
}

export interface PublishCall {
  agent: string | undefined;
  /** `token of OWNER` or `certificate`; undefined: the connection has no write credential. */
  credential: string | undefined;
  ref: string;
  ruleset: string;
  base: string;
  bytes: Buffer;
}

export class PublishService {
  readonly #o: PublishServiceOptions;
  #pool: ScratchPool | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: PublishServiceOptions) {
    this.#o = opts;
  }

  /**
   * Check the caller's rights, then publish (server/publish/publish-revision.ts), one call at a
   * time. Errors: NFTSYNC_ERR_PUBLISH_DENIED, and those of publishRevision (a conflict is logged
   * at warn level with the objects named).
   */
  publish(call: PublishCall): Promise<PublishResult> {
    const run = () => this.#publish(call);
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #publish(call: PublishCall): Promise<PublishResult> {
    const log = this.#o.logger.child({ agent: call.agent, ruleset: call.ruleset, ref: call.ref });
    if (call.agent === undefined) throw new NftSyncError('NFTSYNC_ERR_PUBLISH_DENIED', 'publishing needs the agent\'s name in hello (--name)');
    if (call.credential === undefined) {
      throw new NftSyncError('NFTSYNC_ERR_PUBLISH_DENIED', `agent ${call.agent} has no write credential on this connection: give it a token from the server's --token-file (NFT_SYNC_TOKEN), or use mutual TLS`, {
        data: { agent: call.agent },
      });
    }
    const head = await this.#o.resolveRef('HEAD');
    if (!mayPublish(await this.#o.repoConfig(head), call.ruleset, call.agent)) {
      throw new NftSyncError('NFTSYNC_ERR_PUBLISH_DENIED', `agent ${call.agent} may not publish ruleset ${call.ruleset}: ${REPO_CONFIG_PATH} on the default branch (at ${head.slice(0, 12)}) has no rulesets.${call.ruleset}.publishers entry matching it`, {
        data: { agent: call.agent, ruleset: call.ruleset },
      });
    }
    try {
      const result = await publishRevision({
        gitdir: this.#o.gitdir,
        branch: call.ref,
        ruleset: call.ruleset,
        base: call.base,
        bytes: call.bytes,
        agent: call.agent,
        credential: call.credential,
        validate: (updates) => validatePush(updates, { gitdir: this.#o.gitdir, nft: this.#o.nft ?? 'auto', scratch: (ms) => this.#scratch().lease(ms) }),
      });
      log.info({ commit: result.commit, rebased: result.rebased, unchanged: result.unchanged, changes: result.differences.slice(0, 20) }, result.unchanged ? 'publish: the branch already has this content' : 'published a live change');
      return result;
    } catch (err) {
      const e = toNftSyncError(err);
      if (e.code === 'NFTSYNC_ERR_PUBLISH_CONFLICT') log.warn({ err: e.toJSON(), reason: 'PublishConflict' }, `PublishConflict: ${e.message}`);
      else log.warn({ err: e.toJSON() }, 'publish refused');
      throw e;
    }
  }

  /**
   * Make the scratch namespace ahead of the first publish when `nft-sync.yaml` on the default
   * branch names any publishers (so the first live change does not wait for `ip netns add`).
   * Never throws: without root or a default branch there is simply nothing warm.
   */
  async warm(): Promise<void> {
    try {
      const config = await this.#o.repoConfig(await this.#o.resolveRef('HEAD'));
      if (this.#o.nft === 'off' || !Object.values(config?.rulesets ?? {}).some((r) => (r.publishers ?? []).length > 0)) return;
      const ns = await this.#scratch().lease();
      await ns.close();
    } catch {
      // no namespace now: the first publish makes one
    }
  }

  #scratch(): ScratchPool {
    this.#pool ??= new ScratchPool();
    return this.#pool;
  }

  /** Remove the scratch namespaces. Never throws. */
  async close(): Promise<void> {
    await this.#queue;
    await this.#pool?.close();
  }
}
