/**
 * `npm run test:unit`: every test under tests/unit, in ONE process (Node 20's runner starts a
 * process per file, and tsx's start-up then costs more than the tests). None needs root, a
 * network namespace or nft: those live in tests/integration and tests/e2e. The fuzz tests run
 * NFT_SYNC_FUZZ_RUNS inputs (5,000 here unless set; `npm run fuzz` runs 100,000).
 * Usage: node --import tsx tests/run-unit.ts [FILTER]  (FILTER: a substring of the file path).
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('unit/', import.meta.url));

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(p));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

process.env.NFT_SYNC_FUZZ_RUNS ??= '5000';
const filter = process.argv[2];
const files = testFiles(root).filter((f) => filter === undefined || relative(root, f).includes(filter));
if (files.length === 0) {
  process.stderr.write(`tests/run-unit.ts: no test file under tests/unit${filter ? ` matches ${filter}` : ''}\n`);
  process.exit(1);
}
for (const f of files) {
  try {
    await import(pathToFileURL(f).href);
  } catch (err) {
    // A file that cannot even load fails the run as a test of its own; the others still run.
    test(`${relative(root, f)} loads`, () => {
      throw err;
    });
  }
}
