/**
 * One queue per branch for the changes this server makes to it (the element API): a job runs
 * after every earlier job on the same branch has settled. A branch is one queue whatever name the
 * client gives it: `main` and `refs/heads/main` are the same branch, and two queues for it would
 * race each other's compare-and-swap until one ran out of attempts.
 */

/** The full ref a branch name means (`main` -> `refs/heads/main`); names already under refs/ as they are. */
function queueKey(branch: string): string {
  return branch.startsWith('refs/') ? branch : `refs/heads/${branch}`;
}

/**
 * A fresh set of queues: `inTurn(branch, job)` runs `job` once every earlier job on that branch
 * has settled (resolved or rejected) and answers what `job` answers. Queues of settled jobs are
 * dropped, so memory follows the jobs in flight.
 */
export function branchQueue(): <T>(branch: string, job: () => Promise<T>) => Promise<T> {
  const queues = new Map<string, Promise<unknown>>();
  return <T>(branch: string, job: () => Promise<T>): Promise<T> => {
    const key = queueKey(branch);
    const run = (queues.get(key) ?? Promise.resolve()).then(job, job);
    const tail = run.catch(() => undefined);
    queues.set(key, tail);
    void tail.then(() => queues.get(key) === tail && queues.delete(key));
    return run;
  };
}
