import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTokenFile } from '../../../../server/auth/load-token-file.js';
import { expectCode } from '../../../helpers/expect-code.js';
import { makeTempDir } from '../../../helpers/temp-dir.js';

test('loadTokenFile reads TOKEN [OWNER] lines; a missing, malformed or empty file is NFTSYNC_ERR_CONFIG_INVALID naming the file', async (t) => {
  const dir = makeTempDir(t);
  const good = join(dir, 'tokens');
  writeFileSync(good, 'ops-token-0123456789abcdef alice\n');
  const tokens = await loadTokenFile(good);
  assert.equal(tokens.length, 1);
  assert.match((await expectCode(loadTokenFile(join(dir, 'missing')), 'NFTSYNC_ERR_CONFIG_INVALID')).message, /missing cannot be read/);
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n# nothing\n');
  assert.match((await expectCode(loadTokenFile(empty), 'NFTSYNC_ERR_CONFIG_INVALID')).message, /holds no token/);
  const short = join(dir, 'short');
  writeFileSync(short, 'x\n');
  const err = await expectCode(loadTokenFile(short), 'NFTSYNC_ERR_CONFIG_INVALID');
  assert.match(err.message, /short/);
});
