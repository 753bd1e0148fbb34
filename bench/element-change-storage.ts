/**
 * What one element change costs the repository, for a set of `elements` addresses changed
 * `change` elements at a time (half added, half deleted, at random places, as blocklist changes
 * land): the git objects a change writes before any gc (loose objects, as git leaves them), and
 * what the repository grows by per change once `git gc` has packed it.
 *
 * Ours: changeSetElements (server/git/set-elements.ts), the file in the element API's layout
 * (one element a line, new ones first). Baseline, in the same run: the same changes written the
 * way `nft -j list ruleset > rulesets/NAME.json` writes a ruleset (the whole set on one line).
 * The push validator is off here (`nft: 'off'`): this measures storage, not nft.
 *
 * Run alone: node --import tsx bench/element-change-storage.ts [ELEMENTS=1000000] [CHANGE=1000] [CHANGES=3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeSetElements } from '../server/git/set-elements.js';
import { initRepository } from '../server/git/init-repository.js';
import { renderRuleset } from '../shared/ruleset/render-ruleset.js';
import { bigAddressList, bigSetRuleset } from '../tests/helpers/big-set.js';
import { type BenchRow, median } from './bench-row.js';

const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'B', GIT_COMMITTER_EMAIL: 'b@example.invalid' };
const SET = { family: 'inet', table: 'bigset', name: 'blocklist' };

function git(gitdir: string, args: string[], input?: string): string {
  return execFileSync('git', ['--git-dir', gitdir, ...args], { env: GIT_ENV, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
}

/** Loose objects' and packs' sizes, in KiB (`git count-objects -v`). */
function sizes(gitdir: string): { loose: number; packed: number } {
  const v = Object.fromEntries(git(gitdir, ['count-objects', '-v']).split('\n').map((l) => l.split(': ') as [string, string]));
  return { loose: Number(v.size), packed: Number(v['size-pack']) };
}

/** Commit `text` as rulesets/big.json on main with plumbing; the work tree is never used. */
function commitFile(gitdir: string, text: string, message: string): void {
  const blob = git(gitdir, ['hash-object', '-w', '--stdin'], text);
  const parent = git(gitdir, ['rev-parse', 'main']);
  const others = git(gitdir, ['ls-tree', `${parent}:rulesets`]).split('\n').filter((l) => l !== '' && !l.endsWith('\tbig.json'));
  const rulesets = git(gitdir, ['mktree'], [...others, `100644 blob ${blob}\tbig.json`].join('\n') + '\n');
  const root = git(gitdir, ['ls-tree', parent]).split('\n').filter((l) => !l.endsWith('\trulesets'));
  const tree = git(gitdir, ['mktree'], [...root, `040000 tree ${rulesets}\trulesets`].join('\n') + '\n');
  git(gitdir, ['update-ref', 'refs/heads/main', git(gitdir, ['commit-tree', tree, '-p', parent, '-m', message]), parent]);
}

interface Measured {
  beforeGc: number[];
  afterGc: number[];
  ms: number[];
}

/** `changes` changes on a repository holding the set; each measured before and after gc. */
async function measure(dir: string, name: string, elements: number, change: number, changes: number, layout: 'api' | 'one-line'): Promise<Measured> {
  const gitdir = join(dir, `${name}.git`);
  await initRepository(gitdir, 'repo-template');
  const ruleset = bigSetRuleset(elements, 7);
  const set = (ruleset.nftables[1] as { set: { elem: string[] } }).set;
  commitFile(gitdir, layout === 'api' ? renderRuleset(ruleset) : JSON.stringify(ruleset), 'the set');
  git(gitdir, ['gc', '-q']);
  const out: Measured = { beforeGc: [], afterGc: [], ms: [] };
  const present = new Set(set.elem);
  const fresh = bigAddressList(elements + changes * change, 11).filter((a) => !present.has(a));
  for (let i = 0; i < changes; i++) {
    const add = fresh.slice(i * (change / 2), (i + 1) * (change / 2));
    const del = Array.from({ length: change / 2 }, (_, k) => set.elem[(k * 7919 + i * 104729) % set.elem.length]!);
    const before = sizes(gitdir);
    const t0 = performance.now();
    if (layout === 'api') {
      await changeSetElements({ gitdir, branch: 'main', ruleset: 'big', set: SET, owner: 'bench', add, delete: del, nft: 'off' });
    } else {
      const gone = new Set(del);
      set.elem = [...set.elem.filter((e) => !gone.has(e)), ...add];
      commitFile(gitdir, JSON.stringify(ruleset), `change ${i}`);
    }
    out.ms.push(performance.now() - t0);
    const after = sizes(gitdir);
    out.beforeGc.push(after.loose - before.loose);
    git(gitdir, ['gc', '-q']);
    out.afterGc.push(sizes(gitdir).packed - before.packed);
  }
  return out;
}

/** The two rows: new objects per change before gc, and growth per change after gc (KiB). */
export async function benchElementStorage(elements: number, change: number, changes: number): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-elemstore-'));
  try {
    const ours = await measure(dir, 'ours', elements, change, changes, 'api');
    const base = await measure(dir, 'oneline', elements, change, changes, 'one-line');
    const label = `${change.toLocaleString('en')}-element change of a ${elements.toLocaleString('en')}-element set`;
    return [
      { figure: `${label}: new git objects before gc (KiB)`, ours: median(ours.beforeGc), baseline: median(base.beforeGc), goal: '< 1024', ok: median(ours.beforeGc) < 1024 },
      { figure: `${label}: repository growth after gc (KiB)`, ours: median(ours.afterGc), baseline: median(base.afterGc), goal: '< 100', ok: median(ours.afterGc) < 100 },
      { figure: `${label}: commit built, validator off (ms)`, ours: median(ours.ms), baseline: median(base.ms), goal: 'report only', ok: true },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [elements = 1_000_000, change = 1000, changes = 3] = process.argv.slice(2).map(Number);
  for (const r of await benchElementStorage(elements, change, changes)) console.log(`${r.ok ? 'ok  ' : 'MISS'} ${r.figure}: ${r.ours.toFixed(0)} (baseline ${r.baseline.toFixed(0)}; goal ${r.goal})`);
}
