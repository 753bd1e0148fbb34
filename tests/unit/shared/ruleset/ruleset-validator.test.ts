/**
 * ruleset-validator.ts is generated at build time from RULESET_SCHEMA (scripts/generate-validators.ts):
 * it must be what the schema compiles to now, and decide and report exactly as ajv compiling the
 * schema at run time (what parseRuleset did before) does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { generatedValidators } from '../../../../scripts/generate-validators.js';
import { RULESET_SCHEMA } from '../../../../shared/ruleset/ruleset-types.js';
import { validateRulesetSchema } from '../../../../shared/ruleset/ruleset-validator.js';

const PATH = 'shared/ruleset/ruleset-validator.ts';

test('ruleset-validator.ts is what the build generates from RULESET_SCHEMA now (run npm run build when this fails)', () => {
  const now = generatedValidators().find((f) => f.path === PATH);
  assert.ok(now, `the generator writes ${PATH}`);
  assert.equal(readFileSync(new URL(`../../../../${PATH}`, import.meta.url), 'utf8'), now.text);
});

test('it accepts and refuses what ajv compiling RULESET_SCHEMA at run time does, with the same first error', () => {
  const live = new Ajv({ strict: true, allErrors: false }).compile(RULESET_SCHEMA);
  const good = JSON.parse(readFileSync(new URL('../../../../repo-template/rulesets/default.json', import.meta.url), 'utf8')) as { nftables: Array<Record<string, Record<string, unknown>>> };
  const table = { family: 'inet', name: 't' };
  const chain = { family: 'inet', table: 't', name: 'c', type: 'filter', hook: 'input', prio: 0, policy: 'drop' };
  const samples: unknown[] = [
    good,
    { nftables: [] },
    {},
    { nftables: [], extra: 1 },
    { nftables: [{}] },
    { nftables: [{ table, chain }] },
    { nftables: [{ tabel: table }] },
    { nftables: [{ table: { ...table, family: 'inet6' } }] },
    { nftables: [{ table: { ...table, name: 'a/b' } }] },
    { nftables: [{ table: { ...table, name: 'x'.repeat(256) } }] },
    { nftables: [{ table: { ...table, comment: '\u{1F525}'.repeat(128) } }] }, // 128 code points: fits (256 UTF-16 units)
    { nftables: [{ table: { ...table, comment: '\u{1F525}'.repeat(129) } }] },
    { nftables: [{ table }, { chain: { ...chain, polcy: 'drop' } }] },
    { nftables: [{ table }, { chain: { ...chain, policy: 'reject' } }] },
    { nftables: [{ table }, { chain: { ...chain, prio: 1.5 } }] },
    { nftables: [{ table }, { chain }, { rule: { family: 'inet', table: 't', chain: 'c', expr: [{}] } }] },
    { nftables: [{ table }, { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', elem: ['198.18.0.1'], timeout: -1 } }] },
    { nftables: [{ table }, { map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr' } }] },
    { nftables: [{ table }, { counter: { family: 'inet', table: 't', name: 'k', packets: 0 } }] },
    { nftables: [{ metainfo: { version: '1.0.6' } }, { table: { ...table, handle: -1 } }] },
    { nftables: 'x' },
    null,
    [good],
  ];
  for (const [i, v] of samples.entries()) {
    assert.equal(validateRulesetSchema(v), live(v), `sample ${i}`);
    assert.deepEqual(validateRulesetSchema.errors ?? null, live.errors ?? null, `sample ${i}`);
  }
});
