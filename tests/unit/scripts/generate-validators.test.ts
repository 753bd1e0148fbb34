import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { generatedValidators } from '../../../scripts/generate-validators.js';

type Check = ((v: unknown) => boolean) & { errors?: unknown };

test('the JavaScript the build puts in dist/ is each .ts file without its types: same exports, same answers and errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-validators-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const values: unknown[] = [null, {}, [], { type: 'ping', id: 1 }, { type: 'ping', id: -1 }, { nftables: [] }, { nftables: [{ table: { family: 'inet', name: 't', x: 1 } }] }, { version: 1, ref: 'main', ruleset: 'default', managedTables: [] }, { version: 1, ref: 'main' }];
  for (const f of generatedValidators()) {
    assert.doesNotMatch(f.js, /\bimport\b|: SchemaValidator|@ts-nocheck/, f.path);
    const file = join(dir, f.path.replace(/\//g, '_').replace(/\.ts$/, '.mjs'));
    writeFileSync(file, f.js);
    const js = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const ts = (await import(`../../../${f.path.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(js).sort(), Object.keys(ts).sort(), f.path);
    for (const [name, exported] of Object.entries(ts)) {
      const pairs: Array<[Check, Check]> =
        exported instanceof Map ? [...exported.keys()].map((k) => [(js[name] as Map<string, Check>).get(k)!, exported.get(k) as Check]) : typeof exported === 'function' ? [[js[name] as Check, exported as Check]] : [];
      if (pairs.length === 0) assert.deepEqual(js[name], exported, `${f.path} ${name}`);
      for (const [a, b] of pairs) {
        for (const v of values) {
          assert.equal(a(v), b(v), `${f.path} ${name} ${JSON.stringify(v)}`);
          assert.deepEqual(a.errors ?? null, b.errors ?? null);
        }
      }
    }
  }
});
