/**
 * Git object ids computed from bytes, so an agent can check what it received against what the
 * server announced without trusting the server's word for it.
 */
import { createHash } from 'node:crypto';

/**
 * The git blob id of `bytes`: the hex SHA-1 (or SHA-256 with `algorithm: 'sha256'`) of
 * `"blob <length>\0"` followed by the bytes, exactly as `git hash-object` computes it.
 */
export function gitBlobId(bytes: Uint8Array, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  return createHash(algorithm).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/** The hash algorithm a full object id belongs to, from its length. */
export function objectIdAlgorithm(id: string): 'sha1' | 'sha256' {
  return id.length === 64 ? 'sha256' : 'sha1';
}
