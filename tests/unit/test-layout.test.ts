/**
 * Tests mirror the source tree: every source file with logic (a function, a class or a function
 * constant) in shared/, host/, server/, agent/ or cli/ has a test named after it in the mirrored
 * place, tests/unit/<same path>.test.ts or tests/integration/<same path>.test.ts (or an aspect of
 * it: <name>-<aspect>.test.ts, <name>.<aspect>.test.ts).
 *
 * The files that have none yet are listed in UNMIRRORED, each with the test that covers it
 * today; the test checks that this test really reaches the file through its imports (static
 * and dynamic imports, and paths such as 'cli/main.ts' that a test runs as a process), so an
 * entry cannot go stale silently, and that a file given a mirrored test leaves the list. The
 * list may only shrink: a new source file with logic needs its own test.
 *
 * Also: tests/unit needs no root (no namespace helper, no `ip netns`, no nft run): those tests
 * live in tests/integration and tests/e2e, so `npm run test:unit` runs as any user.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_DIRS = ['shared', 'host', 'server', 'agent', 'cli'];

/**
 * Files with no mirrored test yet, and the test that covers each through its callers. Empty now:
 * every source file with logic has its own mirrored test. A new entry cannot be added (the list
 * only shrinks); give the file its own test instead.
 */
const UNMIRRORED: Record<string, string> = {
};

function walk(dir: string, keep: (f: string) => boolean): string[] {
  const out: string[] = [];
  if (!existsSync(join(root, dir))) return out;
  for (const e of readdirSync(join(root, dir))) {
    const p = join(dir, e);
    if (statSync(join(root, p)).isDirectory()) out.push(...walk(p, keep));
    else if (keep(p)) out.push(p);
  }
  return out.sort();
}

const sources = SOURCE_DIRS.flatMap((d) => walk(d, (f) => f.endsWith('.ts') && !f.endsWith('.d.ts')));
const tests = ['tests/unit', 'tests/integration', 'tests/e2e'].flatMap((d) => walk(d, (f) => f.endsWith('.test.ts')));

/** A function declaration, a class, a constant holding a function, or an object's method, outside comments. */
function hasLogic(file: string): boolean {
  const code = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const declared = /^\s*(export\s+)?(default\s+)?(async\s+)?function\b|^\s*(export\s+)?(abstract\s+)?class\b|^\s*(export\s+)?const\s+\w+\s*(:[^=\n]+)?=\s*(async\s*)?(\([^)]*\)|\w+)\s*(:[^=\n]+)?=>/m;
  const method = /^\s*(async\s+)?(?!(if|for|while|switch|catch|return|function)\b)\w+\s*\([^)]*\)\s*(:\s*[^{;]+)?\{\s*$/m;
  return declared.test(code) || method.test(code);
}

/** The mirrored tests of a source file (unit or integration; the file's own name or an aspect of it). */
function mirroredTests(source: string): string[] {
  const dir = dirname(source);
  const name = source.slice(dir.length + 1, -'.ts'.length);
  return ['tests/unit', 'tests/integration'].flatMap((kind) =>
    walk(join(kind, dir), (f) => dirname(f) === join(kind, dir) && (f.endsWith(`/${name}.test.ts`) || new RegExp(`/${name}[-.][^/]+\\.test\\.ts$`).test(f))),
  );
}

/** Repository files `file` refers to: relative imports (static or dynamic) and literal paths of source files it runs. */
function edges(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts');
    if (existsSync(join(root, target))) out.push(target);
  }
  for (const m of text.matchAll(/['"]((?:shared|host|server|agent|cli)\/[\w/.-]+\.ts)['"]/g)) if (existsSync(join(root, m[1]!))) out.push(m[1]!);
  // `new URL(\`../../cli/hook-main.${fromSource ? 'ts' : 'js'}\`, import.meta.url)`: an entry point run as a process.
  for (const m of text.matchAll(/new URL\(`(\.{1,2}\/[^`]+)`/g)) {
    const target = normalize(join(dirname(file), m[1]!.replace(/\$\{[^}]*\}/g, 'ts')));
    if (existsSync(join(root, target))) out.push(target);
  }
  return out;
}

/** Every repository file `file` reaches through edges(). */
function reach(file: string): Set<string> {
  const seen = new Set<string>();
  const todo = [file];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...edges(f));
  }
  return seen;
}

describe('tests mirror the source tree', () => {
  const logic = sources.filter(hasLogic);

  it('every source file with logic has a mirrored test, or is in UNMIRRORED', () => {
    const missing = logic.filter((f) => mirroredTests(f).length === 0 && !(f in UNMIRRORED));
    assert.deepEqual(missing, [], 'add tests/unit/<path>.test.ts or tests/integration/<path>.test.ts for these');
  });

  it('UNMIRRORED lists only files with logic and no mirrored test (remove an entry once its file has one)', () => {
    const stale = Object.keys(UNMIRRORED).filter((f) => !logic.includes(f) || mirroredTests(f).length > 0);
    assert.deepEqual(stale, []);
  });

  it('each UNMIRRORED file is reached by the test named as covering it', () => {
    const wrong = Object.entries(UNMIRRORED)
      .filter(([source, test]) => !tests.includes(test) || !reach(test).has(source))
      .map(([source, test]) => `${source}: ${test} ${tests.includes(test) ? 'does not reach it' : 'does not exist'}`);
    assert.deepEqual(wrong, []);
  });

  it('tests/unit needs no root: no namespace helper, no `ip netns`, no nft', () => {
    const unit = tests.filter((f) => f.startsWith('tests/unit/'));
    const rootOnly = unit.filter((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      return [...reach(f)].some((r) => r.startsWith('tests/helpers/netns')) || /['"]ip['"],\s*\[\s*['"]netns|ip netns (add|exec)|process\.getuid\(\)|createNftRunner\(/.test(text);
    });
    assert.deepEqual(rootOnly.map((f) => relative(root, join(root, f))), [], 'move these to tests/integration or tests/e2e');
  });
});
