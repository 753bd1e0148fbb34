/**
 * Crash-safe file writes for the agent's state directory: a crash leaves the old file or the
 * new one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Write `bytes` to `dir/name` atomically: a private temporary file (mode 0600), fsync, rename,
 * then fsync of the directory so the rename itself is durable. With `durable: false`, neither
 * fsync: the file is replaced whole for every process at once (a crash of this one leaves the
 * old file or the new), but a power loss may bring the old one back. Errors: the file system's
 * (the temporary file is removed).
 */
export async function writeFileAtomic(dir: string, name: string, bytes: Uint8Array, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable !== false;
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      if (durable) await fh.sync();
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
