/**
 * A throwaway PKI made with `nft-sync pki` (initPki, issueCertificate) for TLS tests: a CA, a
 * server certificate for 127.0.0.1 and the agent certificates asked for, removed after the test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { TlsMaterial } from '../../cli/tls-flags.js';
import { initPki, issueCertificate } from '../../server/auth/pki.js';
import { tempDir } from './git-fixture.js';

export interface TestPki {
  dir: string;
  /** CA, certificate and key of `name` (the server's is "127.0.0.1"). */
  material(name: string): TlsMaterial;
}

/** Make a CA, a server certificate for 127.0.0.1, and one certificate per agent name. */
export async function testPki(t: Pick<TestContext, 'after'>, agents: string[]): Promise<TestPki> {
  const dir = join(tempDir(t, 'nft-sync-pki-'), 'pki');
  await initPki(dir);
  await issueCertificate(dir, '127.0.0.1', { server: true });
  for (const a of agents) await issueCertificate(dir, a);
  return {
    dir,
    material: (name) => ({ ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) }),
  };
}
