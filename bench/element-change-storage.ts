/**
 * What one element change costs the repository, for a set of `elements` addresses changed
 * `change` elements at a time (half added, half deleted, at random places, as blocklist changes
 * land): the git objects a change writes before any gc (loose objects, as git leaves them), and
 * what the repository grows by per change once `git gc` has packed it.
 *
 * Ours: changeSetElements (server/git/set-elements.ts) with the server's kept tip
 * (server/git/element-tips.ts), the real code path: each change is one
 * element change file `rulesets/big.elements/NNNNNN.json`; the change that would make the 65th
 * folds them all into `rulesets/big.json` (server/defaults.ts elementLog). `changes` changes are
 * measured as they come; then change files are added by plumbing up to the fold threshold (64)
 * and the folding change is measured through changeSetElements too, so the amortised figure is
 * (64 changes + 1 fold) / 65. Baseline, in the same run: the layout before change files, every
 * change a rewrite of the whole `rulesets/big.json` (one element a line, as the API wrote it).
 * The push validator's nft load is off here (`nft: 'off'`): this measures storage, not nft. The
 * first change reads the set into the tip (seconds); so does the folding change, which follows
 * change files written by plumbing: the times are reported, not judged.
 *
 * Run alone: node --import tsx bench/element-change-storage.ts [ELEMENTS=1000000] [CHANGE=1000] [CHANGES=3]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changeSetElements } from '../server/git/set-elements.js';
import { ElementTips } from '../server/git/element-tips.js';
import { RulesetRepository } from '../server/git/ruleset-repository.js';
import { RefUpdater } from '../host/ref-updater.js';
import { initRepository } from '../server/git/init-repository.js';
import { SERVER_DEFAULTS } from '../server/defaults.js';
import { changeFileName, renderChangeFile } from '../shared/ruleset/element-log.js';
import { renderRuleset } from '../shared/ruleset/render-ruleset.js';
import { bigAddressList, bigSetRuleset } from '../tests/helpers/big-set.js';
import { type BenchRow, median } from './bench-row.js';

const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'B', GIT_AUTHOR_EMAIL: 'b@example.invalid', GIT_COMMITTER_NAME: 'B', GIT_COMMITTER_EMAIL: 'b@example.invalid' };
const SET = { family: 'inet', table: 'bigset', name: 'blocklist' };

function git(gitdir: string, args: string[], input?: string, env: Record<string, string | undefined> = GIT_ENV): string {
  return execFileSync('git', ['--git-dir', gitdir, ...args], { env, input, encoding: 'utf8', maxBuffer: 1 << 28 }).trim();
}

/** Loose objects' and packs' sizes, in KiB (`git count-objects -v`). */
function sizes(gitdir: string): { loose: number; packed: number } {
  const v = Object.fromEntries(git(gitdir, ['count-objects', '-v']).split('\n').map((l) => l.split(': ') as [string, string]));
  return { loose: Number(v.size), packed: Number(v['size-pack']) };
}

/** Commit `files` (path -> text) on main with plumbing in a throwaway index; the work tree is never used. */
function commitFiles(gitdir: string, files: Record<string, string>, message: string): void {
  const env = { ...GIT_ENV, GIT_INDEX_FILE: join(gitdir, 'bench-index') };
  const parent = git(gitdir, ['rev-parse', 'main']);
  git(gitdir, ['read-tree', parent], undefined, env);
  for (const [path, text] of Object.entries(files)) git(gitdir, ['update-index', '--add', '--cacheinfo', `100644,${git(gitdir, ['hash-object', '-w', '--stdin'], text)},${path}`], undefined, env);
  const tree = git(gitdir, ['write-tree'], undefined, env);
  git(gitdir, ['update-ref', 'refs/heads/main', git(gitdir, ['commit-tree', tree, '-p', parent, '-m', message]), parent]);
}

interface Measured {
  beforeGc: number[];
  afterGc: number[];
  ms: number[];
  /** The folding change (ours only). */
  fold?: { beforeGc: number; afterGc: number; ms: number; folded: number };
}

/** `changes` changes on a repository holding the set; each measured before and after gc. */
async function measure(dir: string, name: string, elements: number, change: number, changes: number, layout: 'change-files' | 'whole-file'): Promise<Measured> {
  const gitdir = join(dir, `${name}.git`);
  await initRepository(gitdir, 'repo-template');
  const ruleset = bigSetRuleset(elements, 7);
  const set = (ruleset.nftables[1] as { set: { elem: string[] } }).set;
  commitFiles(gitdir, { 'rulesets/big.json': renderRuleset(ruleset) }, 'the set');
  git(gitdir, ['gc', '-q']);
  const out: Measured = { beforeGc: [], afterGc: [], ms: [] };
  // As the server makes them: through its kept tip (server/git/element-tips.ts), built in the
  // repository's worker thread, the branch moved by a long-lived git update-ref.
  const repo = await RulesetRepository.open(gitdir);
  const refs = new RefUpdater(gitdir);
  const tips = new ElementTips({ gitdir, refs, prime: (b, c, bytes, blob) => repo.primeComposed(b, c, bytes, blob), follow: (b, c) => repo.followText(b, c) });
  const present = new Set(set.elem);
  const total = changes + SERVER_DEFAULTS.elementLog.foldMaxFiles + 1;
  const fresh = bigAddressList(elements + total * change, 11).filter((a) => !present.has(a));
  const changeOf = (i: number) => ({
    add: fresh.slice(i * (change / 2), (i + 1) * (change / 2)),
    del: Array.from({ length: change / 2 }, (_, k) => set.elem[(k * 7919 + i * 104729) % set.elem.length]!),
  });
  const one = async (i: number): Promise<{ beforeGc: number; afterGc: number; ms: number; folded: number }> => {
    const { add, del } = changeOf(i);
    const before = sizes(gitdir);
    const t0 = performance.now();
    let folded = 0;
    if (layout === 'change-files') {
      folded = (await changeSetElements({ gitdir, branch: 'main', ruleset: 'big', set: SET, owner: 'bench', add, delete: del, nft: 'off', tips })).folded ?? 0;
    } else {
      const gone = new Set(del);
      set.elem = [...add, ...set.elem.filter((e) => !gone.has(e))];
      commitFiles(gitdir, { 'rulesets/big.json': renderRuleset(ruleset) }, `change ${i}`);
    }
    const ms = performance.now() - t0;
    const loose = sizes(gitdir).loose - before.loose;
    git(gitdir, ['gc', '-q']);
    return { beforeGc: loose, afterGc: sizes(gitdir).packed - before.packed, ms, folded };
  };
  for (let i = 0; i < changes; i++) {
    const m = await one(i);
    out.beforeGc.push(m.beforeGc);
    out.afterGc.push(m.afterGc);
    out.ms.push(m.ms);
    if (process.env.NFT_SYNC_BENCH_VERBOSE) console.error(`${name} change ${i}: ${m.ms.toFixed(0)} ms`);
  }
  if (layout === 'change-files') {
    // Up to the threshold by plumbing (the same files changeSetElements writes), then the fold.
    const files: Record<string, string> = {};
    for (let i = changes; i < SERVER_DEFAULTS.elementLog.foldMaxFiles; i++) {
      const { add, del } = changeOf(i);
      files[`rulesets/big.elements/${changeFileName(i + 1)}`] = renderChangeFile(SET, add, del);
    }
    commitFiles(gitdir, files, 'change files up to the fold threshold');
    git(gitdir, ['gc', '-q']);
    out.fold = await one(SERVER_DEFAULTS.elementLog.foldMaxFiles);
  }
  refs.close();
  return out;
}

/** The rows: new objects per change before gc, growth per change after gc (KiB), amortised with one fold, time. */
export async function benchElementStorage(elements: number, change: number, changes: number): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-bench-elemstore-'));
  try {
    const ours = await measure(dir, 'ours', elements, change, changes, 'change-files');
    const base = await measure(dir, 'whole', elements, change, changes, 'whole-file');
    const label = `${change.toLocaleString('en')}-element change of a ${elements.toLocaleString('en')}-element set`;
    const fold = ours.fold!;
    const n = SERVER_DEFAULTS.elementLog.foldMaxFiles;
    const amortised = (per: number, folded: number) => (per * n + folded) / (n + 1);
    const before = amortised(median(ours.beforeGc), fold.beforeGc);
    const after = amortised(median(ours.afterGc), fold.afterGc);
    return [
      { figure: `${label}: new git objects before gc (KiB)`, ours: median(ours.beforeGc), baseline: median(base.beforeGc), goal: '< 1024', ok: median(ours.beforeGc) < 1024 },
      { figure: `${label}: repository growth after gc (KiB)`, ours: median(ours.afterGc), baseline: median(base.afterGc), goal: '< 100', ok: median(ours.afterGc) < 100 },
      { figure: `${label}: the folding change (${fold.folded} change files into the base), new objects before gc (KiB)`, ours: fold.beforeGc, baseline: median(base.beforeGc), goal: 'report only', ok: true },
      { figure: `${label}: the folding change, repository growth after gc (KiB)`, ours: fold.afterGc, baseline: median(base.afterGc), goal: 'report only', ok: true },
      { figure: `${label}: amortised over ${n} changes and 1 fold, new objects before gc (KiB)`, ours: before, baseline: median(base.beforeGc), goal: '< 1024', ok: before < 1024 },
      { figure: `${label}: amortised over ${n} changes and 1 fold, growth after gc (KiB)`, ours: after, baseline: median(base.afterGc), goal: '< 100', ok: after < 100 },
      { figure: `${label}: commit built, validator's nft load off (ms)`, ours: median(ours.ms), baseline: median(base.ms), goal: 'report only', ok: true },
      { figure: `${label}: the folding change built, validator's nft load off (ms)`, ours: fold.ms, baseline: median(base.ms), goal: 'report only', ok: true },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [elements = 1_000_000, change = 1000, changes = 3] = process.argv.slice(2).map(Number);
  for (const r of await benchElementStorage(elements, change, changes)) console.log(`${r.ok ? 'ok  ' : 'MISS'} ${r.figure}: ${r.ours.toFixed(0)} (baseline ${r.baseline.toFixed(0)}; goal ${r.goal})`);
}
