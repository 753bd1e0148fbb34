/**
 * No declared dependency goes unused: every package in package.json's `dependencies` is imported
 * by the shipped code (shared/, host/, server/, agent/, cli/), and every devDependency by the
 * tests, benches or scripts, or run by an npm script.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; scripts: Record<string, string> };

/** The text of every source file under `dirs`. */
function sources(dirs: string[]): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mjs|cjs)$/.test(f)) out.push(readFileSync(p, 'utf8'));
    }
  };
  for (const d of dirs) walk(join(ROOT, d));
  return out.join('\n');
}

/** True when `text` imports `name` or one of its subpaths (static, dynamic, require, resolve). */
function imports(text: string, name: string): boolean {
  const n = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`(from\\s+|import\\(\\s*|require\\(\\s*|resolve\\(\\s*|import\\s+)['"]${n}(/[^'"]*)?['"]`).test(text);
}

test('every dependency is imported by the shipped code', () => {
  const shipped = sources(['shared', 'host', 'server', 'agent', 'cli']);
  assert.deepEqual(Object.keys(pkg.dependencies).filter((d) => !imports(shipped, d)), []);
});

test('every devDependency is imported by tests, benches or scripts, or run by an npm script', () => {
  const dev = sources(['tests', 'bench', 'scripts']);
  const scripts = Object.values(pkg.scripts).join('\n');
  const bins: Record<string, string> = { typescript: 'tsc', tsx: 'tsx', 'dependency-cruiser': 'depcruise' };
  const unused = Object.keys(pkg.devDependencies).filter((d) => d !== '@types/node' && !imports(dev, d) && !new RegExp(`\\b${bins[d] ?? d}\\b`).test(scripts));
  assert.deepEqual(unused, []);
});
