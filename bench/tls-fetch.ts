/**
 * Bench row: a fresh connection (TCP or mutual TLS handshake, hello/welcome) plus one fetch of
 * default.json, TLS against plain TCP, measured in the same run on the same server repository.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { WireClient } from '../agent/wire/wire-client.js';
import { clientTlsOptions, serverTlsOptions } from '../cli/tls-flags.js';
import { initRepository } from '../server/git/init-repository.js';
import { initPki, issueCertificate } from '../server/auth/pki.js';
import { startServer } from '../server/start-server.js';
import { type BenchRow, median } from './bench-row.js';

/** Median of `runs` fresh connect + fetch rounds over TLS and over TCP (interleaved). */
export async function benchTlsFetch(runs: number, logger: Logger, cleanups: Array<() => unknown>): Promise<BenchRow> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-tls-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const pki = join(dir, 'pki');
  await initPki(pki);
  await issueCertificate(pki, '127.0.0.1', { server: true });
  await issueCertificate(pki, 'bench');
  const read = (name: string) => ({ ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, `${name}.crt`)), key: readFileSync(join(pki, `${name}.key`)) });
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  const plain = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, logger });
  cleanups.push(() => plain.close());
  const secure = await startServer({ repo: bare, listen: { host: '127.0.0.1', port: 0 }, logger, tls: serverTlsOptions(read('127.0.0.1')) });
  cleanups.push(() => secure.close());
  const tls = clientTlsOptions(read('bench'), '127.0.0.1');
  const round = async (port: number, withTls: boolean) => {
    const t0 = performance.now();
    const c = await WireClient.connect({ host: '127.0.0.1', port, agent: 'bench', tls: withTls ? tls : undefined });
    await c.fetch({ ref: 'main', ruleset: 'default' });
    const ms = performance.now() - t0;
    c.close();
    return ms;
  };
  // Warm both paths (repository caches, TLS code), then interleave so drift hits both alike.
  await round(plain.wireAddress.port, false);
  await round(secure.wireAddress.port, true);
  const t: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < runs; i++) {
    p.push(await round(plain.wireAddress.port, false));
    t.push(await round(secure.wireAddress.port, true));
  }
  const ours = median(t);
  return { figure: 'connect + fetch default.json, mutual TLS vs TCP (ms)', ours, baseline: median(p), goal: '< 20', ok: ours < 20 };
}
