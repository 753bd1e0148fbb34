import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { generatedValidators } from '../../../scripts/generate-validators.js';
import { RULESET_SCHEMA } from '../../../shared/ruleset/ruleset-types.js';
import { validateRulesetSchema } from '../../../shared/ruleset/ruleset-validator.js';
import { MESSAGE_SCHEMAS } from '../../../shared/wire/message-schemas.js';
import { MESSAGE_VALIDATORS } from '../../../shared/wire/message-validators.js';
import { StateFile } from '../../../agent/state/state-file-schema.js';
import { validateStateFile } from '../../../agent/state/state-file-validator.js';

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

test('differential fuzz against ajv compiling the same schemas at run time: prototype keys (own __proto__ as JSON.parse makes it), huge and inexact numbers, lone surrogates, deep nesting; same answers, same first error', () => {
  let seed = 20261202;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const keys = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', 'prototype', 'length', '0', ''];
  const vals: unknown[] = [1e308, -0, 2 ** 53 + 1, -(2 ** 63), 0.1, 2 ** 32, 2 ** 32 - 1, -1, '\ud800', '\udfff\ud800', '\u{1F525}'.repeat(129), 'a'.repeat(300), '\u0000', '', null, true, [], {}, [[[[]]]], 'inet', 'main', 'c'.repeat(40), 1, 0];
  const mutate = (v: unknown, depth = 0): unknown => {
    if (depth > 6 || rnd() < 0.1) return depth > 6 ? v : pick(vals);
    if (Array.isArray(v)) return [...v.map((x) => (rnd() < 0.3 ? mutate(x, depth + 1) : x)), ...(rnd() < 0.1 ? [pick(vals)] : [])];
    if (v === null || typeof v !== 'object') return rnd() < 0.5 ? pick(vals) : v;
    const o = JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
    for (const k of Object.keys(o)) if (rnd() < 0.3) o[k] = mutate(o[k], depth + 1);
    if (rnd() < 0.05 && Object.keys(o).length > 0) delete o[pick(Object.keys(o))];
    if (rnd() >= 0.2) return o;
    // An own key named like a prototype member, put first, as a hostile peer's JSON.parse gives it.
    const rest = JSON.stringify(o).slice(1);
    return JSON.parse(`{${JSON.stringify(pick(keys))}:${JSON.stringify(pick(vals)) ?? 'null'}${rest === '}' ? '' : ','}${rest}`) as unknown;
  };
  let deep: unknown = 1;
  for (let i = 0; i < 5000; i++) deep = { nftables: [deep], type: 'ping', id: deep };
  const outcome = (check: Check, v: unknown): unknown => {
    try {
      return [check(v), check.errors ?? null];
    } catch (err) {
      return (err as Error).name;
    }
  };
  const id = 'c'.repeat(40);
  const ajv = new Ajv({ allErrors: false, strict: true });
  const cases: Array<[string, Check, Check, unknown[], number]> = [
    ['ruleset', validateRulesetSchema as Check, new Ajv({ strict: true, allErrors: false }).compile(RULESET_SCHEMA), [{ nftables: [{ table: { family: 'inet', name: 't' } }, { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', elem: ['198.18.0.1', { prefix: { addr: '198.18.0.0', len: 15 } }] } }] }], 4000],
    ['state', validateStateFile as Check, new Ajv({ strict: true }).compile(StateFile), [{ version: 1, ref: 'main', ruleset: 'default', managedTables: [{ family: 'inet', name: 't' }] }], 2000],
    ...[...MESSAGE_SCHEMAS].map(([t, schema]): [string, Check, Check, unknown[], number] => [t, MESSAGE_VALIDATORS.get(t) as Check, ajv.compile(schema), [{ type: t, id: 1, ref: 'main', ruleset: 'default', commit: id, blob: id, agent: 'w', versions: [1], status: { agent: 'w', ref: 'main', state: 'Applied', conditions: [] } }], 300]),
  ];
  for (const [name, built, live, seeds, n] of cases) {
    for (let i = 0; i < n; i++) {
      const v = mutate(pick(seeds));
      assert.deepEqual(outcome(built, v), outcome(live, v), `${name} ${JSON.stringify(v).slice(0, 200)}`);
    }
    assert.deepEqual(outcome(built, deep), outcome(live, deep), `${name} nested 5000 deep`);
    // A closed object refuses an own __proto__ key: it is not taken for the prototype.
    if (name === 'ping') assert.equal(built(JSON.parse('{"type": "ping", "id": 1, "__proto__": {"id": 2}}')), false);
  }
});
