/**
 * The layering check: dependency-cruiser's rules (.dependency-cruiser.cjs) over the real import
 * graph of the TypeScript sources. Usage: `node --import tsx scripts/check-layers.ts [ROOT]`
 * (ROOT defaults to the working directory; it holds tsconfig.json and the rules). Exit 0 when no
 * rule is broken, 1 with one line per violation otherwise, 2 when the graph cannot be built.
 *
 * Why not dependency-cruiser on the .ts files directly: it parses TypeScript with the
 * `typescript` package and supports versions below 7, and the project compiles with 7. So the
 * TypeScript compiler builds the graph: it emits the JavaScript (every value import, static and
 * dynamic, node: built-ins included) into a temporary folder, and --explainFiles lists every
 * import it resolved, type-only ones included (erased from the JavaScript), which are added back
 * as bare imports. dependency-cruiser then checks that folder, same paths, same rules.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cruise, type ICruiseOptions } from 'dependency-cruiser';

/** The folders that are layers; each is checked when it exists. */
const LAYERS = ['shared', 'host', 'server', 'agent', 'cli'];

/**
 * Relative imports the compiler resolved, by importing file (project paths, `.ts`), parsed from
 * `tsc --explainFiles` lines such as `Imported via '../x.js' from file 'server/a.ts'`.
 */
export function importsFromExplain(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^\s+Imported via (['"])(\.{1,2}\/[^'"]+)\1 from file '([^']+\.ts)'/gm)) {
    const [, , spec, file] = m;
    if (!out.has(file!)) out.set(file!, new Set());
    out.get(file!)!.add(spec!);
  }
  return out;
}

/** Build the JavaScript mirror of `root` in a new temporary folder and return its path. */
function buildMirror(root: string): string {
  const mirror = mkdtempSync(join(tmpdir(), 'nft-sync-layers-'));
  const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--outDir', mirror, '--rootDir', root, '--sourceMap', 'false', '--declaration', 'false', '--noEmitOnError', 'false', '--explainFiles'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  for (const [file, specs] of importsFromExplain(run.stdout)) {
    const js = join(mirror, file.replace(/\.ts$/, '.js'));
    if (!existsSync(js)) continue;
    const text = readFileSync(js, 'utf8');
    const erased = [...specs].filter((s) => !text.includes(`'${s}'`) && !text.includes(`"${s}"`));
    if (erased.length > 0) appendFileSync(js, erased.map((s) => `\nimport '${s}'; // type-only in the source`).join('') + '\n');
  }
  const modules = join(root, 'node_modules');
  if (existsSync(modules)) symlinkSync(modules, join(mirror, 'node_modules'));
  return mirror;
}

/** Run the check on `root`; returns the exit code and prints dependency-cruiser's report. */
export async function checkLayers(root: string): Promise<number> {
  const mirror = buildMirror(root);
  try {
    const layers = LAYERS.filter((l) => existsSync(join(mirror, l)));
    const config = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs')) as { forbidden: unknown[]; options: Record<string, unknown> };
    const result = await cruise(layers, { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true, baseDir: mirror, outputType: 'err' } as ICruiseOptions);
    process.stdout.write(String(result.output));
    return result.exitCode === 0 ? 0 : 1;
  } finally {
    rmSync(mirror, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  try {
    process.exitCode = await checkLayers(resolve(process.argv[2] ?? '.'));
  } catch (e) {
    console.error('check-layers:', (e as Error).message);
    process.exitCode = 2;
  }
}
