/**
 * Crash-safe file writes for the agent's state directory: a crash leaves the old file or the
 * new one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Write `bytes` to `dir/name` atomically: a private temporary file (mode 0600), fsync, rename,
 * then fsync of the directory so the rename itself is durable. With `durable: false`, the
 * directory is not synced: the file is still replaced whole (its bytes reach the disk before the
 * rename, so even a power loss leaves the old file or the new, never a torn one), but a power
 * loss may bring the old one back; one journal commit instead of two. Errors: the file system's
 * (the temporary file is removed).
 */
export async function writeFileAtomic(dir: string, name: string, bytes: Uint8Array, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable !== false;
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, name));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // The rename is durable only once the directory entry itself reaches the disk.
  if (!durable) return;
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
