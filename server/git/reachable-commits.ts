/**
 * The commits an agent may be served by id: those reachable from a branch or a tag, the refs the
 * push validator judges. A commit pushed only to `refs/other/x` (which the pre-receive hook does
 * not judge) exists in the repository but was never validated, so it is not served.
 *
 * Kept as an in-memory set, closed under parents (a commit in the set has all its ancestors in
 * it), so a lookup is one Set probe. When a lookup misses, the set is brought up to date: the
 * current tips are read and only the history new since the last walk is listed
 * (`git rev-list NEW-TIPS --not OLD-TIPS`), which after a push is the pushed commits only.
 *
 * A commit stays in the set when a force push or a deleted tag leaves it unreachable: it was
 * validated when it was pushed, and forgetting would need a full walk on every ref change.
 */
import { runGit } from '../../host/run-git.js';

export class ReachableCommits {
  readonly #gitdir: string;
  readonly #tips: () => Promise<string[]>;
  readonly #commits = new Set<string>();
  /** Tips of the last walk: everything they reach is in the set. */
  #walked: string[] = [];
  #running: Promise<void> | undefined;
  #again: Promise<void> | undefined;

  /** `tips` lists the commits the branches and tags point to now (annotated tags peeled). */
  constructor(gitdir: string, tips: () => Promise<string[]>) {
    this.#gitdir = gitdir;
    this.#tips = tips;
  }

  /** Commits known reachable so far. */
  get size(): number {
    return this.#commits.size;
  }

  /**
   * True when `commit` (a full lowercase id) is reachable from a branch or a tag. A hit costs a
   * Set lookup; a miss re-reads the refs (about a millisecond) and walks any new history first.
   * Errors: git's, as a plain Error (the caller's own code wraps it).
   */
  async has(commit: string): Promise<boolean> {
    if (this.#commits.has(commit)) return true;
    await this.refresh();
    return this.#commits.has(commit);
  }

  /**
   * Bring the set up to date with the refs as they are now. Calls while a walk runs share one
   * follow-up walk, which starts after it and so sees refs at least as new as the call did.
   */
  refresh(): Promise<void> {
    if (this.#running === undefined) {
      this.#running = this.#walk().finally(() => (this.#running = undefined));
      return this.#running;
    }
    this.#again ??= this.#running
      .catch(() => {})
      .then(() => {
        this.#again = undefined;
        return this.refresh();
      });
    return this.#again;
  }

  async #walk(): Promise<void> {
    const tips = await this.#tips();
    const fresh = [...new Set(tips)].filter((t) => !this.#commits.has(t));
    if (fresh.length === 0) {
      this.#walked = tips;
      return;
    }
    // Old tips are all in the set with their history: git stops there, so only new commits print.
    const input = [...fresh, ...this.#walked.filter((t) => this.#commits.has(t)).map((t) => `^${t}`)].join('\n') + '\n';
    const { stdout } = await runGit(['rev-list', '--stdin'], { gitdir: this.#gitdir, input });
    for (const line of stdout.split('\n')) if (line !== '') this.#commits.add(line);
    this.#walked = tips;
  }
}
