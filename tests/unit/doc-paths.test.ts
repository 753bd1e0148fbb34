/**
 * The files the README and docs/ name exist: a move that forgets the docs fails here.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const PATH = /(?<![\w./-])((?:shared|host|server|agent|cli|tests|bench|scripts|packaging|repo-template)\/[\w./-]*\w\.(?:ts|py|sh|cjs|mjs|md|json|yaml))\b/g;

test('every source path the README and docs/ name exists', () => {
  const missing: string[] = [];
  for (const doc of DOCS) {
    for (const m of readFileSync(join(ROOT, doc), 'utf8').matchAll(PATH)) {
      if (!m[1]!.includes('*') && !existsSync(join(ROOT, m[1]!))) missing.push(`${doc}: ${m[1]}`);
    }
  }
  assert.deepEqual(missing, []);
});
