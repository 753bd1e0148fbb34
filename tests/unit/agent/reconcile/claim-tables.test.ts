import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTablesFree, ownedWithAdopted, tablesNotOwnedError } from '../../../../agent/reconcile/claim-tables.js';
import type { NftRunner } from '../../../../host/nft-runner.js';
import { parseTablePatterns } from '../../../../shared/ruleset/table-pattern.js';
import { expectCode } from '../../../helpers/expect-code.js';

const t = (family: string, name: string) => ({ family, name }) as { family: 'inet'; name: string };
/** A fake nft runner (nft needs root): only listTables, answering `present`. */
const fakeNft = (present: ReturnType<typeof t>[]) => ({ listTables: async () => present }) as unknown as NftRunner;

test('ownedWithAdopted adds declared tables that match --adopt-tables, nothing else', () => {
  const declared = [t('inet', 'nft_sync'), t('inet', 'f2b-table'), t('ip', 'nat')];
  assert.deepEqual(ownedWithAdopted(declared, [t('inet', 'nft_sync')], parseTablePatterns('inet f2b-*')), [t('inet', 'nft_sync'), t('inet', 'f2b-table')]);
  assert.deepEqual(ownedWithAdopted(declared, [], []), []);
});

test('assertTablesFree (fake nft runner): refuses a table to create that exists, names it, and lets adopted or absent ones through', async () => {
  const declared = [t('inet', 'nft_sync'), t('inet', 'f2b-table')];
  const err = await expectCode(assertTablesFree(fakeNft([t('inet', 'f2b-table')]), declared, [t('inet', 'nft_sync')], []), 'NFTSYNC_ERR_TABLE_NOT_OWNED');
  assert.deepEqual(err.data, { tables: ['inet f2b-table'] });
  // pull takes --adopt-tables too: the hint does not send a pull user to the agent.
  assert.match(err.message, /give the agent \(or pull\) --adopt-tables 'inet f2b-table'/);
  await assertTablesFree(fakeNft([t('inet', 'f2b-table')]), declared, [t('inet', 'nft_sync')], parseTablePatterns('inet f2b-table'));
  await assertTablesFree(fakeNft([]), declared, [], []);
  assert.equal(tablesNotOwnedError([t('ip', 'nat'), t('ip', 'filter')]).data?.tables instanceof Array, true);
});
