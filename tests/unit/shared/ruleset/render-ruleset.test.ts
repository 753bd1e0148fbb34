import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';

describe('renderRuleset', () => {
  it('is JSON.stringify(…, null, 2) for a file without elements (the template is unchanged)', () => {
    const text = readFileSync('repo-template/rulesets/default.json', 'utf8');
    assert.equal(renderRuleset(JSON.parse(text)), text);
  });
  it('puts each element on a line of its own, and parses back to the same value', () => {
    const value = { nftables: [{ map: { name: 'm', elem: [['198.18.0.1', { accept: null }], [{ elem: { val: '198.18.0.2', timeout: 30 } }, { drop: null }]], type: 'ipv4_addr' } }] };
    const text = renderRuleset(value);
    assert.deepEqual(JSON.parse(text), value);
    assert.match(text, /\n {8}"elem": \[\n {10}\["198\.18\.0\.1",\{"accept":null\}\],\n {10}\[\{"elem":\{"val":"198\.18\.0\.2","timeout":30\}\},\{"drop":null\}\]\n {8}\],\n/);
  });
});
