/** elementLayout: the element lines of bytes that are renderRuleset's text, padded or not, and none for any other text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { elementLayout } from '../../../../shared/ruleset/element-layout.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import type { Ruleset } from '../../../../shared/ruleset/ruleset-types.js';
import { serverPad } from '../../../helpers/padded-text.js';

const r = {
  nftables: [
    { table: { family: 'inet', name: 't' } },
    { set: { family: 'inet', table: 't', name: 's', type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2'] } },
    { set: { family: 'inet', table: 't', name: 'e', type: 'ipv4_addr' } },
    { map: { family: 'inet', table: 't', name: 'm', type: 'ipv4_addr', map: 'verdict', elem: [['198.18.0.3', { accept: null }]] } },
    { element: { family: 'inet', table: 't', name: 's', elem: ['198.18.0.9'] } },
  ],
} as Ruleset;

test('each non-empty elem array: its item, first line and indentation; element k is on line first + k', () => {
  const bytes = Buffer.from(renderRuleset(r));
  const layout = elementLayout(bytes, r);
  assert.ok(layout);
  const lines = bytes.toString().split('\n');
  assert.equal(layout.lines, lines.length);
  assert.deepEqual(layout.lists.map((l) => l.item), [1, 3, undefined]);
  const [s, m] = layout.lists;
  assert.deepEqual([lines[s!.first], lines[s!.first + 1]], [`${s!.indent}"198.18.0.1",`, `${s!.indent}"198.18.0.2"`]);
  assert.equal(lines[m!.first], `${m!.indent}["198.18.0.3",{"accept":null}]`);
});

test('no layout for bytes that are not renderRuleset\'s text of the ruleset', () => {
  assert.equal(elementLayout(Buffer.from(JSON.stringify(r)), r), undefined);
  assert.equal(elementLayout(Buffer.from(JSON.stringify(r, null, 2)), r), undefined);
  assert.equal(elementLayout(Buffer.from(renderRuleset(r).replace('198.18.0.2', '198.18.0.4')), r), undefined);
});

test('bytes padded after the text (lines of spaces, as the server keeps revisions at one size): the same element lines, and where the pad starts', () => {
  const text = renderRuleset(r);
  const plain = elementLayout(Buffer.from(text), r)!;
  assert.equal(plain.padFrom, plain.lines - 1, 'no pad: it would start on the empty last line');
  assert.deepEqual(plain.pad, new Uint32Array(0));
  for (const [why, pad, lengths] of [
    ['the server\'s form: n mod 1024 bytes, then lines of 1024', serverPad(3000), [951, 1023, 1023]],
    ['n mod 1024 = 1: an empty first line', serverPad(1025), [0, 1023]],
    ['any lines of spaces', `\n\n${' '.repeat(5000)}\n \n`, [0, 0, 5000, 1]],
  ] as const) {
    const bytes = Buffer.from(text + pad);
    const layout = elementLayout(bytes, r);
    assert.ok(layout, why);
    assert.deepEqual(layout.lists, plain.lists, why);
    assert.equal(layout.lines, bytes.toString().split('\n').length, why);
    assert.equal(layout.padFrom, plain.padFrom, why);
    assert.deepEqual([...layout.pad], lengths, why);
    assert.equal(layout.lines, layout.padFrom + layout.pad.length + 1, why);
    assert.equal(bytes.toString().split('\n')[layout.padFrom - 1], '}', `${why}: the line before the pad closes the text`);
  }
});

test('no layout for bytes with anything but a pad after the text', () => {
  const text = renderRuleset(r);
  for (const [why, tail] of [
    ['a non-space byte in a pad line', `${' '.repeat(20)}\n  x \n`],
    ['a tab', '\t\n'],
    ['a last line of spaces without its newline', `${' '.repeat(1023)}\n   `],
    ['a second JSON value', '{}\n'],
  ]) assert.equal(elementLayout(Buffer.from(text + tail!), r), undefined, why);
  assert.equal(elementLayout(Buffer.from(text.slice(0, -1)), r), undefined, 'the text without its final newline');
  assert.equal(elementLayout(Buffer.from(`  ${text}`), r), undefined, 'spaces before the text');
});

test('no layout for a text followed by more pad lines than the server ever writes (review: a pushed file or a server ending in 20 MB of newlines cost each agent 600 MB of heap)', () => {
  assert.equal(elementLayout(Buffer.from(renderRuleset(r) + '\n'.repeat(1 << 20)), r), undefined);
  assert.ok(elementLayout(Buffer.from(renderRuleset(r) + serverPad(4 << 20)), r), 'the largest pad the server writes');
});
