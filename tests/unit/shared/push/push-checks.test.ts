import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkComposedRuleset, checkRepoConfigFile, checkRulesetFile, isZeroId, lostOnReload, parseRefUpdates, rulesetNameOfPath } from '../../../../shared/push/push-checks.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { rulesetFilesOf } from '../../../../shared/push/ruleset-files.js';

const A = 'a'.repeat(40);
const Z = '0'.repeat(40);

describe('push checks', () => {
  test('parseRefUpdates reads git pre-receive input and refuses anything else', () => {
    assert.deepEqual(parseRefUpdates(`${Z} ${A} refs/heads/main\n${A} ${Z} refs/tags/v1\n`), [
      { old: Z, new: A, ref: 'refs/heads/main' },
      { old: A, new: Z, ref: 'refs/tags/v1' },
    ]);
    assert.deepEqual(parseRefUpdates(''), []);
    assert.throws(() => parseRefUpdates('hello world\n'), { code: 'NFTSYNC_ERR_USAGE' });
    assert.ok(isZeroId(Z) && !isZeroId(A));
  });

  test('ruleset paths', () => {
    assert.equal(rulesetNameOfPath('rulesets/web.json'), 'web');
    assert.equal(rulesetNameOfPath('rulesets/sub/web.json'), undefined);
    assert.equal(rulesetNameOfPath('README.md'), undefined);
  });

  test('checkRulesetFile: name, JSON with line and column, schema with pointer', () => {
    assert.ok('ruleset' in checkRulesetFile('rulesets/ok.json', A, Buffer.from('{"nftables": []}')));
    const bad = (path: string, text: string) => {
      const r = checkRulesetFile(path, A, Buffer.from(text));
      assert.ok('problem' in r);
      return r.problem;
    };
    assert.equal(bad('rulesets/a b.json', '{"nftables": []}').code, 'NFTSYNC_ERR_RULESET_NAME_INVALID');
    const json = bad('rulesets/x.json', '{\n "nftables": [,]}');
    assert.equal(json.code, 'NFTSYNC_ERR_RULESET_JSON');
    assert.match(json.message, /line 2, column 15/);
    const schema = bad('rulesets/x.json', '{"nftables": [{"table": {"family": "inet", "name": "t", "x": 1}}]}');
    assert.equal(schema.code, 'NFTSYNC_ERR_RULESET_SCHEMA');
    assert.match(schema.message, /\/nftables\/0\/table/);
  });

  test('checkRepoConfigFile: syntax, schema, missing rulesets, absent file', () => {
    const names = new Set(['default', 'web']);
    assert.deepEqual(checkRepoConfigFile({ blob: A, text: 'version: 1\nagents:\n  - {match: "web-*", ruleset: web}\n' }, names), []);
    assert.deepEqual(checkRepoConfigFile(undefined, names), []);
    assert.equal(checkRepoConfigFile({ blob: A, text: 'agents: [' }, names)[0]!.code, 'NFTSYNC_ERR_REPO_CONFIG_INVALID');
    const missing = checkRepoConfigFile({ blob: A, text: 'agents:\n  - {match: "db-*", ruleset: db}\n' }, names);
    // The mapping is at fault: the problem names nft-sync.yaml with the YAML file's blob id.
    assert.deepEqual(missing.map((p) => [p.path, p.blob, p.code]), [['nft-sync.yaml', A, 'NFTSYNC_ERR_RULESET_NOT_FOUND']]);
    assert.match(missing[0]!.message, /nft-sync\.yaml names ruleset "db", but rulesets\/db\.json is not in the commit/);
    const noYaml = checkRepoConfigFile(undefined, new Set(['web']))[0]!;
    assert.deepEqual([noYaml.path, noYaml.blob], ['rulesets/default.json', undefined]);
  });

  test('lostOnReload names comments and flags nft drops', () => {
    const declared: Ruleset = {
      nftables: [
        { table: { family: 'inet', name: 't', comment: 'tc' } },
        { chain: { family: 'inet', table: 't', name: 'c', comment: 'cc' } },
        { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', flags: ['dynamic'], comment: 'kept' } },
      ],
    } as Ruleset;
    const listed: Ruleset = {
      nftables: [
        { table: { family: 'inet', name: 't', handle: 1 } },
        { chain: { family: 'inet', table: 't', name: 'c', handle: 1 } },
        { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', comment: 'kept', handle: 2 } },
      ],
    } as Ruleset;
    const lost = lostOnReload(declared, listed);
    assert.equal(lost.length, 3);
    assert.match(lost[0]!, /^table inet t: comment "tc" would be lost/);
    assert.match(lost[1]!, /^chain inet t c: comment "cc" would be lost/);
    assert.match(lost[2]!, /^set inet t s: flags \["dynamic"\] would be lost/);
    assert.deepEqual(lostOnReload(declared, declared), []);
  });

  test('checkComposedRuleset: the composed ruleset, or the problem of the file at fault', () => {
    const base = Buffer.from(JSON.stringify({ nftables: [{ table: { family: 'inet', name: 't' } }, { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr' } }] }));
    const good = Buffer.from(renderChangeFile({ family: 'inet', table: 't', name: 's' }, ['198.18.0.1'], []));
    const bad = Buffer.from(renderChangeFile({ family: 'inet', table: 't', name: 's' }, ['nope'], []));
    const ids = { base: '1'.repeat(40), good: '2'.repeat(40), bad: '3'.repeat(40) };
    const bytes = new Map([[ids.base, base], [ids.good, good], [ids.bad, bad]]);
    const files = (...changes: string[]) => rulesetFilesOf([{ path: 'rulesets/web.json', blob: ids.base, mode: '100644' }, ...changes.map((id, i) => ({ path: `rulesets/web.elements/00000${i + 1}.json`, blob: id, mode: '100644' }))]).rulesets.get('web')!;
    const ok = checkComposedRuleset(files(ids.good), bytes);
    assert.ok('ruleset' in ok);
    assert.deepEqual((ok.ruleset.nftables[1] as { set: { elem: unknown[] } }).set.elem, ['198.18.0.1']);
    const refused = checkComposedRuleset(files(ids.good, ids.bad), bytes);
    assert.ok('problem' in refused);
    assert.deepEqual([refused.problem.path, refused.problem.blob, refused.problem.code], ['rulesets/web.elements/000002.json', ids.bad, 'NFTSYNC_ERR_ELEMENT_INVALID']);
    const plain = checkComposedRuleset(files(), bytes);
    assert.ok('ruleset' in plain);
  });
});
