/**
 * readStoredRuleset on a real bare repository: the base, its change files in order, what else
 * the change directory holds; composeStored applies them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { initRepository } from '../../../../server/git/init-repository.js';
import { composeStored, readStoredRuleset } from '../../../../server/git/stored-ruleset.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { tempDir, testGitEnv } from '../../../helpers/git-fixture.js';

const SET = { family: 'inet', table: 't', name: 'block' };
const BASE = renderRuleset({ nftables: [{ table: { family: 'inet', name: 't' } }, { set: { family: 'inet', table: 't', name: 'block', type: 'ipv4_addr', elem: ['198.18.0.1'] } }] });

describe('readStoredRuleset', () => {
  test('base, change files in name order, strays kept apart; undefined without the base', async (t) => {
    const dir = tempDir(t);
    const bare = join(dir, 'r.git');
    await initRepository(bare, 'repo-template');
    const g = (args: string[], input?: string) => execFileSync('git', ['--git-dir', bare, ...args], { input, env: testGitEnv(), encoding: 'utf8' }).trim();
    const env = { ...testGitEnv(), GIT_INDEX_FILE: join(dir, 'index') };
    execFileSync('git', ['--git-dir', bare, 'read-tree', 'main'], { env });
    const files: Record<string, string> = {
      'rulesets/web.json': BASE,
      'rulesets/web.elements/000002.json': renderChangeFile(SET, [], ['198.18.0.2']),
      'rulesets/web.elements/000001.json': renderChangeFile(SET, ['198.18.0.2', '198.18.0.3'], ['198.18.0.1']),
      'rulesets/web.elements/README': 'stray',
    };
    for (const [path, text] of Object.entries(files)) {
      execFileSync('git', ['--git-dir', bare, 'update-index', '--add', '--cacheinfo', `100644,${g(['hash-object', '-w', '--stdin'], text)},${path}`], { env });
    }
    const commit = g(['commit-tree', execFileSync('git', ['--git-dir', bare, 'write-tree'], { env, encoding: 'utf8' }).trim(), '-p', 'main', '-m', 'c']);
    const stored = (await readStoredRuleset(bare, commit, 'web'))!;
    assert.equal(stored.base.bytes.toString(), BASE);
    assert.equal(stored.base.blob, g(['rev-parse', `${commit}:rulesets/web.json`]));
    assert.deepEqual(stored.changes.map((c) => c.file), ['000001.json', '000002.json']);
    assert.deepEqual(stored.elementsEntries.map((e) => e.name).sort(), ['000001.json', '000002.json', 'README']);
    assert.equal(stored.rulesetsTree, g(['rev-parse', `${commit}:rulesets`]));
    assert.deepEqual((composeStored('web', stored).nftables[1] as { set: { elem: unknown[] } }).set.elem, ['198.18.0.3']);
    assert.equal(await readStoredRuleset(bare, commit, 'nope'), undefined);
    await assert.rejects(readStoredRuleset(bare, 'f'.repeat(40), 'web'), { code: 'NFTSYNC_ERR_REF_NOT_FOUND' });
    await assert.rejects(readStoredRuleset(bare, `${commit}\nmain`, 'web'), { code: 'NFTSYNC_ERR_REF_INVALID' });
  });
});
