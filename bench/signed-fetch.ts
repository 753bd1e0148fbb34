/**
 * Bench row: fetch of default.json at a signed tag with the release proof, checked by the agent
 * (object hashes, chain walk, `ssh-keygen -Y verify`), against the plain fetch + blob-id check,
 * on one connection to the same server, in the same run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { verifyRelease } from '../agent/reconcile/verify-release.js';
import { verifyRevision } from '../agent/reconcile/verify-revision.js';
import { WireClient } from '../agent/wire/wire-client.js';
import { initRepository } from '../server/git/init-repository.js';
import { startServer } from '../server/start-server.js';
import { type BenchRow, median } from './bench-row.js';

/** Median of `runs` fetch+verify rounds with and without a release proof (interleaved). */
export async function benchSignedFetch(runs: number, logger: Logger, cleanups: Array<() => unknown>): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-sig-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'rel@example.invalid', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'rel@example.invalid' };
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  const key = join(dir, 'release');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
  const allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, `rel@example.invalid ${readFileSync(`${key}.pub`, 'utf8')}`);
  execFileSync('git', ['-C', bare, '-c', 'gpg.format=ssh', '-c', `user.signingkey=${key}`, 'tag', '-s', 'v1', '-m', 'v1', 'main'], { env, stdio: 'ignore' });
  const server = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, logger });
  cleanups.push(() => server.close());
  const client = await WireClient.connect({ host: '127.0.0.1', port: server.wireAddress.port, agent: 'bench' });
  cleanups.push(() => client.close());
  const signed = async () => {
    const t0 = performance.now();
    const f = await client.fetch({ ref: 'v1', ruleset: 'default', proof: true });
    if (f.kind !== 'ruleset') throw new Error('unexpected answer');
    await verifyRelease(f, 'v1', allowed, { agent: 'bench', ruleset: 'default' });
    verifyRevision(f.bytes, f.blob, f);
    return performance.now() - t0;
  };
  const plain = async () => {
    const t0 = performance.now();
    const f = await client.fetch({ ref: 'v1', ruleset: 'default' });
    if (f.kind !== 'ruleset') throw new Error('unexpected answer');
    verifyRevision(f.bytes, f.blob, f);
    return performance.now() - t0;
  };
  await signed();
  await plain();
  const s: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < runs; i++) {
    p.push(await plain());
    s.push(await signed());
  }
  const ours = median(s);
  return { figure: 'fetch + verify default.json, signed release vs plain (ms)', ours, baseline: median(p), goal: '< 50', ok: ours < 50 };
}
