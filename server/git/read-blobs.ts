/** Reading many git blobs with one git process. */
import { spawn } from 'node:child_process';
import { toNftSyncError } from '../../shared/errors.js';
import { gitEnv as runGitEnv } from '../../host/run-git.js';

/**
 * Every blob in `ids` read through ONE `git cat-file --batch`, by id (duplicates read once).
 * `gitEnv` is added to git's environment (the hook passes git's quarantine variables, so
 * objects of a push not yet accepted are found). Errors: NFTSYNC_ERR_REPO_GIT_FAILED when an id
 * is missing or not a blob, or git fails.
 */
export function readBlobs(gitdir: string, gitEnv: Record<string, string>, ids: string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, Buffer>();
  if (unique.length === 0) return Promise.resolve(out);
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['--git-dir', gitdir, 'cat-file', '--batch'], { env: runGitEnv(gitEnv), stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const all = Buffer.concat(chunks);
      let at = 0;
      for (const id of unique) {
        const nl = all.indexOf(0x0a, at);
        const [oid, type, size] = all.subarray(at, nl).toString('latin1').split(' ');
        if (nl < 0 || type !== 'blob' || oid !== id) {
          return reject(toNftSyncError(new Error(`git cat-file --batch could not read blob ${id} (exit ${code}): ${stderr.trim()}`), 'NFTSYNC_ERR_REPO_GIT_FAILED'));
        }
        out.set(id, all.subarray(nl + 1, nl + 1 + Number(size)));
        at = nl + 1 + Number(size) + 1;
      }
      resolve(out);
    });
    child.stdin.end(unique.map((id) => `${id}\n`).join(''));
  });
}
