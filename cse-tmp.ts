import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeSetElements } from '/work/main/server/git/set-elements.js';
import { initRepository } from '/work/main/server/git/init-repository.js';
import { renderRuleset } from '/work/main/shared/ruleset/render-ruleset.js';
import { bigAddressList, bigSetRuleset } from '/work/main/tests/helpers/big-set.js';
const N = Number(process.argv[2] ?? 200000);
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'B', GIT_COMMITTER_EMAIL: 'b@x', GIT_INDEX_FILE: '' };
const dir = mkdtempSync(join(tmpdir(), 'cse-'));
const gitdir = join(dir, 'r.git');
await initRepository(gitdir, '/work/main/repo-template');
const g = (args: string[], input?: string, env: any = ENV) => execFileSync('git', ['--git-dir', gitdir, ...args], { input, env, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
const rs = bigSetRuleset(N, 7);
const env = { ...ENV, GIT_INDEX_FILE: join(gitdir, 'ix') };
const parent = g(['rev-parse', 'main']);
g(['read-tree', parent], undefined, env);
g(['update-index', '--add', '--cacheinfo', `100644,${g(['hash-object', '-w', '--stdin'], renderRuleset(rs))},rulesets/big.json`], undefined, env);
const tree = g(['write-tree'], undefined, env);
g(['update-ref', 'refs/heads/main', g(['commit-tree', tree, '-p', parent, '-m', 'x']), parent]);
const set = (rs.nftables[1] as any).set;
const fresh = bigAddressList(N + 5000, 11).filter((a) => !new Set(set.elem).has(a));
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  await changeSetElements({ gitdir, branch: 'main', ruleset: 'big', set: { family: set.family, table: set.table, name: set.name }, owner: 'b', add: fresh.slice(i * 500, i * 500 + 500), delete: set.elem.slice(i * 500, i * 500 + 500), nft: 'off' });
  console.log(`change ${i}: ${(performance.now() - t0).toFixed(0)} ms`);
}
