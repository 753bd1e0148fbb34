import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeRuleset, composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { applyElementChange } from '../../../../shared/ruleset/element-change.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { NftSyncError } from '../../../../shared/errors.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';

const block = { family: 'inet', table: 'f', name: 'block' };
const temp = { family: 'inet', table: 'f', name: 'temp' };
const nets = { family: 'inet', table: 'f', name: 'nets' };
const BASE = renderRuleset({
  nftables: [
    { table: { family: 'inet', name: 'f' } },
    { set: { family: 'inet', table: 'f', name: 'block', type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2'] } },
    { set: { family: 'inet', table: 'f', name: 'temp', type: 'ipv4_addr', flags: ['timeout'] } },
    { set: { family: 'inet', table: 'f', name: 'nets', type: 'ipv4_addr', flags: ['interval'], elem: [{ prefix: { addr: '198.18.4.0', len: 24 } }] } },
  ],
});
const base = { path: 'rulesets/edge.json', bytes: BASE };
const file = (n: number, text: string) => ({ path: `rulesets/edge.elements/${String(n).padStart(6, '0')}.json`, bytes: text });
const elemOf = (r: Ruleset, name: string) => ((r.nftables.find((i) => (i as { set?: { name: string } }).set?.name === name) as { set: { elem?: unknown[] } }).set.elem ?? []);
const error = (fn: () => unknown): NftSyncError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NftSyncError, String(err));
    return err;
  }
  throw new Error('no error');
};

describe('composeRuleset', () => {
  it('without change files the base text is returned untouched (its blob id stays the repository\'s)', () => {
    const odd = JSON.stringify(JSON.parse(BASE));
    assert.equal(composeRulesetText({ path: 'rulesets/edge.json', bytes: odd }, []), odd);
  });

  it('applies change files in order, with the same result as applying each change in turn', () => {
    const changes = [
      file(1, renderChangeFile(block, ['198.18.0.3', '198.18.0.4'], ['198.18.0.1'])),
      file(2, renderChangeFile(temp, [{ elem: { val: '198.18.0.9', timeout: 60 } }], [])),
      file(3, renderChangeFile(block, ['198.18.0.1'], ['198.18.0.3'])),
      file(4, renderChangeFile(temp, [{ elem: { val: '198.18.0.9', timeout: 120 } }], [])),
      file(5, renderChangeFile(nets, [{ range: ['198.18.8.0', '198.18.8.9'] }], [{ prefix: { addr: '198.18.4.0', len: 24 } }])),
    ];
    const composed = composeRuleset(base, changes);
    const stepwise = parseRuleset(BASE);
    applyElementChange(stepwise, block, { add: ['198.18.0.3', '198.18.0.4'], delete: ['198.18.0.1'] });
    applyElementChange(stepwise, temp, { add: [{ elem: { val: '198.18.0.9', timeout: 60 } }] });
    applyElementChange(stepwise, block, { add: ['198.18.0.1'], delete: ['198.18.0.3'] });
    applyElementChange(stepwise, temp, { add: [{ elem: { val: '198.18.0.9', timeout: 120 } }] });
    applyElementChange(stepwise, nets, { add: [{ range: ['198.18.8.0', '198.18.8.9'] }], delete: [{ prefix: { addr: '198.18.4.0', len: 24 } }] });
    for (const name of ['block', 'temp', 'nets']) assert.deepEqual(new Set(elemOf(composed, name).map((e) => JSON.stringify(e))), new Set(elemOf(stepwise, name).map((e) => JSON.stringify(e))), name);
    assert.deepEqual(elemOf(composed, 'temp'), [{ elem: { val: '198.18.0.9', timeout: 120 } }]);
    // The text is renderRuleset's (one element a line) and parses as a ruleset.
    const text = composeRulesetText(base, changes) as string;
    assert.equal(text, renderRuleset(composed));
    assert.deepEqual(parseRuleset(text), composed);
  });

  it('an element added then deleted, or deleted then added, ends as the last change says', () => {
    const r = composeRuleset(base, [file(1, renderChangeFile(block, ['198.18.0.7'], [])), file(2, renderChangeFile(block, [], ['198.18.0.7', '198.18.0.2'])), file(3, renderChangeFile(block, ['198.18.0.2'], []))]);
    assert.deepEqual([...elemOf(r, 'block')].sort(), ['198.18.0.1', '198.18.0.2']);
  });

  it('hostile change files: refused naming the file (and the element), with stable codes', () => {
    const cases: Array<[string, string, RegExp]> = [
      [renderChangeFile({ family: 'inet', table: 'f', name: 'nope' }, ['198.18.0.1'], []), 'NFTSYNC_ERR_SET_NOT_FOUND', /000002\.json: changes the elements of inet\/f\/nope, which the base ruleset does not declare/],
      [renderChangeFile(block, ['not-an-address'], []), 'NFTSYNC_ERR_ELEMENT_INVALID', /000002\.json \(add\[0\]\): element "not-an-address" does not fit set inet f block/],
      [renderChangeFile(block, [{ elem: { val: '198.18.0.5', timeout: 5 } }], []), 'NFTSYNC_ERR_ELEMENT_INVALID', /000002\.json \(add\[0\]\).*timeout/],
      [renderChangeFile(block, [], [['x'.repeat(5000)]]), 'NFTSYNC_ERR_ELEMENT_INVALID', /000002\.json \(delete\[0\]\): an element is longer than 4096/],
      [renderChangeFile(nets, [{ prefix: { addr: '198.18.4.128', len: 25 } }], []), 'NFTSYNC_ERR_ELEMENT_INVALID', /000002\.json \(add\[0\]\): .*overlaps/],
      ['{"nft-sync-elements": 1}', 'NFTSYNC_ERR_RULESET_SCHEMA', /000002\.json: element change file/],
      ['\u0000', 'NFTSYNC_ERR_RULESET_JSON', /000002\.json: /],
    ];
    for (const [text, code, message] of cases) {
      const e = error(() => composeRuleset(base, [file(1, renderChangeFile(block, ['198.18.0.9'], [])), file(2, text)]));
      assert.equal(e.code, code, text.slice(0, 100));
      assert.match(e.message, message);
      assert.equal(e.data?.path, 'rulesets/edge.elements/000002.json');
    }
    const bad = error(() => composeRuleset({ path: 'rulesets/edge.json', bytes: '{"nftables": 3}' }, []));
    assert.equal(bad.code, 'NFTSYNC_ERR_RULESET_SCHEMA');
    assert.equal(bad.data?.path, 'rulesets/edge.json');
  });

});
