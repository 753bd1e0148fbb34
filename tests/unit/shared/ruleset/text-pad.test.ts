import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isShared } from '../../../../shared/bytes/spare-buffer.js';
import { ComposedText } from '../../../../shared/ruleset/composed-text.js';
import { composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { parseChangeFile, renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { floorBase, PAD_LINE_BYTES, PAD_MIN_BASE_BYTES, padBytes, padOf, padUnit } from '../../../../shared/ruleset/text-pad.js';
import { BIG_SET, bigSetBase, bigSetIp } from '../../../helpers/padded-text.js';

const at = BIG_SET;
const ip = bigSetIp;
const bigBase = bigSetBase;

describe('text-pad', () => {
  it('padUnit: none under 1 MiB of base; a sixteenth of it in 64 KiB steps; at most 4 MiB', () => {
    assert.equal(padUnit(PAD_MIN_BASE_BYTES - 1), 0);
    assert.equal(padUnit(PAD_MIN_BASE_BYTES), 64 * 1024);
    assert.equal(padUnit(25_000_000), 1_572_864);
    assert.equal(padUnit(200_000_000), 4 << 20);
  });

  it('padBytes: 1 to unit bytes, taking the text to the next multiple of the unit; 0 without a unit', () => {
    assert.equal(padBytes(123, 0), 0);
    const unit = 65536;
    for (const len of [0, 1, unit - 1, unit, unit + 1, 5 * unit - 7]) {
      const n = padBytes(len, unit);
      assert.ok(n >= 1 && n <= unit, `${len}: ${n}`);
      assert.equal((len + n) % unit, 0);
    }
    // The same size for every text in one unit: what lets hashes resume.
    assert.equal(100_000 + padBytes(100_000, unit), 120_000 + padBytes(120_000, unit));
  });

  it('padOf(n): n bytes in shared memory, lines of spaces ending in a newline, whole lines of PAD_LINE_BYTES after a shorter first', () => {
    for (const n of [0, 1, 2, PAD_LINE_BYTES - 1, PAD_LINE_BYTES, PAD_LINE_BYTES + 1, 3 * PAD_LINE_BYTES + 17, 200_000]) {
      const pad = padOf(n);
      assert.equal(pad.length, n);
      if (n === 0) continue;
      assert.ok(isShared(pad));
      assert.equal(pad[n - 1], 0x0a);
      const lines = pad.toString('latin1').split('\n').slice(0, -1);
      assert.ok(lines.every((l) => /^ *$/.test(l)), `${n}: spaces only`);
      assert.ok(lines.slice(1).every((l) => l.length === PAD_LINE_BYTES - 1), `${n}: whole lines after the first`);
      assert.equal(lines[0]!.length + 1, n % PAD_LINE_BYTES || PAD_LINE_BYTES);
    }
    // Two pads share their whole lines at the end: their delta is a few lines.
    const a = padOf(5000);
    const b = padOf(3000);
    assert.ok(a.subarray(a.length - 2048).equals(b.subarray(b.length - 2048)));
  });

  it('floorBase: a fold text counts up to its pad without rendering; a base written otherwise is rendered; a small one is not counted', () => {
    const never = (): number => assert.fail('rendered for nothing');
    const fold = Buffer.from(composeRulesetText({ path: 'b', bytes: bigBase(60_000) }, [{ path: 'c', bytes: renderChangeFile(at, [ip(900_000)], []) }]));
    const json = fold.lastIndexOf(0x7d) + 1;
    assert.ok(fold.length - json > 1, 'the fold text ends with a pad');
    assert.equal(floorBase(fold, never), json + 1, 'up to the pad: its JSON and the newline after it');
    assert.equal(floorBase(Buffer.from('{"nftables": []}\n'), never), 0, 'a base under PAD_MIN_BASE_BYTES has no pad to count for');
    const oneLine = Buffer.from(`${JSON.stringify(JSON.parse(bigBase(100_000).toString()))}\n`);
    assert.ok(oneLine.length >= PAD_MIN_BASE_BYTES);
    assert.equal(floorBase(oneLine, () => 1234), 1234, 'one line, as nft -j list ruleset prints it: rendered');
    // Ending in spaces that are not a pad (the last line is not a whole one), or with no newline before them: rendered.
    assert.equal(floorBase(Buffer.concat([fold, Buffer.from(' ')]), () => 1), 1);
    assert.equal(floorBase(Buffer.concat([fold.subarray(0, json), fold.subarray(json + 1)]), () => 2), 2);
    // One line ending in a blank line or two (`\n` and ` \n` are pads too): rendered (review).
    for (const end of ['\n\n', '\n \n', '\n\n\n']) assert.equal(floorBase(Buffer.from(`${oneLine.toString().trimEnd()}${end}`), () => 3), 3, JSON.stringify(end));
  });

  it('deletes do not shrink the size: a text that deletes its way below a multiple of the unit keeps its size (adding and deleting around a multiple does not move it, nor send a unit of pad); composing whole agrees', () => {
    const baseText = bigBase(60_000);
    const unit = padUnit(Buffer.byteLength(baseText));
    const composed = ComposedText.build(baseText, [])!;
    const files: string[] = [];
    const take = (file: string): Buffer => {
      files.push(file);
      assert.ok(composed.apply(parseChangeFile(file)));
      return composed.text()!;
    };
    // New elements, 100 a change, until the text (pad aside) is just past a multiple of the unit.
    let text = take(renderChangeFile(at, [ip(100_000)], []));
    for (let k = 1; ((text.length - composed.pad) % unit > 40_000 || (text.length - composed.pad) % unit < 2_000) && k < 200; k++) {
      text = take(renderChangeFile(at, Array.from({ length: 100 }, (_, i) => ip(100_000 + k * 100 + i)), []));
    }
    const content = text.length - composed.pad;
    const past = content % unit;
    assert.ok(past >= 2_000 && past <= 40_000, `${past} bytes past a multiple`);
    // Base elements deleted: their lines (about 20 bytes each) take the text below that multiple, by less than a unit.
    const gone = Array.from({ length: Math.ceil((past + 5_000) / 19) }, (_, i) => ip(i * 7));
    const shrunk = take(renderChangeFile(at, [], gone));
    assert.ok(shrunk.length - composed.pad < content - past, 'the text itself went below the multiple');
    assert.equal(shrunk.length, text.length, 'the size kept');
    const whole = Buffer.from(composeRulesetText({ path: 'b', bytes: baseText }, files.map((bytes, i) => ({ path: `c${i}`, bytes }))));
    assert.ok(whole.equals(shrunk), 'byte for byte what composing whole gives');
    // Back and forth: two elements deleted and added again, twice; the size never moves.
    for (let k = 0; k < 2; k++) {
      assert.equal(take(renderChangeFile(at, [], [ip(100_000)])).length, text.length);
      assert.equal(take(renderChangeFile(at, [ip(100_000)], [])).length, text.length);
    }
    assert.ok(Buffer.from(composeRulesetText({ path: 'b', bytes: baseText }, files.map((bytes, i) => ({ path: `c${i}`, bytes })))).equals(composed.text()!));
  });

  it('distinct elements added and deleted again count towards the floor only up to a unit above the text: a pad of at most two units', () => {
    const baseText = bigBase(60_000);
    const unit = padUnit(Buffer.byteLength(baseText));
    const composed = ComposedText.build(baseText, [])!;
    for (let k = 0; k < 6; k++) {
      const xs = Array.from({ length: 4_000 }, (_, i) => ip(100_000 + k * 4_000 + i));
      assert.ok(composed.apply(parseChangeFile(renderChangeFile(at, xs, []))));
      assert.ok(composed.apply(parseChangeFile(renderChangeFile(at, [], xs))));
      composed.text();
      assert.ok(composed.pad >= 1 && composed.pad <= 2 * unit, `round ${k}: a pad of ${composed.pad} bytes (unit ${unit})`);
    }
    assert.ok(composed.pad > unit, 'the floor went past a unit above the text');
  });

  it('churn of the same elements (added and deleted again, timeouts refreshed) of less than a unit of lines never moves the size: each counts once, at its longest', () => {
    const baseText = bigBase(60_000, { flags: ['timeout'] });
    const unit = padUnit(Buffer.byteLength(baseText));
    const composed = ComposedText.build(baseText, [])!;
    const files: string[] = [];
    const sizes = new Set<number>();
    const xs = Array.from({ length: 4_000 }, (_, i) => ip(100_000 + i));
    const timed = (s: number) => xs.slice(0, 500).map((x) => ({ elem: { val: x, timeout: s } }));
    for (let k = 0; k < 12; k++) {
      // Adds, deletes, and timeouts of one to four digits: the text moves by up to 100 KB each time.
      const file = k % 3 === 0 ? renderChangeFile(at, xs, []) : k % 3 === 1 ? renderChangeFile(at, timed(10 ** (k % 4)), []) : renderChangeFile(at, [], xs);
      files.push(file);
      assert.ok(composed.apply(parseChangeFile(file)));
      sizes.add(composed.text()!.length);
    }
    assert.equal(sizes.size, 1, `sizes ${[...sizes].join(' ')} (unit ${unit})`);
    const whole = Buffer.from(composeRulesetText({ path: 'b', bytes: baseText }, files.map((bytes, i) => ({ path: `c${i}`, bytes }))));
    assert.ok(composed.text()!.equals(whole), 'composing whole counts alike');
  });

  it('a big composed text: ComposedText and composeRulesetText give the same padded bytes; adds keep its size and change only its end (sharedHead)', () => {
    const baseText = bigBase(60_000);
    assert.ok(Buffer.byteLength(baseText) >= PAD_MIN_BASE_BYTES);
    const composed = ComposedText.build(baseText, [])!;
    const files: string[] = [];
    let previous: Buffer | undefined;
    for (let c = 0; c < 4; c++) {
      const file = renderChangeFile(at, Array.from({ length: 200 }, (_, i) => ip(100_000 + c * 200 + i)), c === 3 ? [ip(7)] : []);
      files.push(file);
      assert.ok(composed.apply(parseChangeFile(file)));
      const text = composed.text()!;
      const whole = Buffer.from(composeRulesetText({ path: 'b', bytes: baseText }, files.map((bytes, i) => ({ path: `c${i}`, bytes }))));
      assert.ok(text.equals(whole), `change ${c}: byte for byte`);
      const json = JSON.parse(text.toString()) as { nftables: Array<{ set?: { elem: string[] } }> };
      const elem = json.nftables[1]!.set!.elem;
      assert.equal(elem.at(-1), ip(100_000 + c * 200 + 199), 'new elements after the base\'s');
      assert.equal(text.length % padUnit(Buffer.byteLength(baseText)), 0, 'a multiple of the unit');
      const end = text.lastIndexOf(0x7d) + 2;
      assert.equal(text.toString('latin1', end - 6, end), '  ]\n}\n', 'the JSON ends, then the pad');
      assert.match(text.toString('latin1', end), /^( *\n)+$/);
      if (previous !== undefined && c < 3) {
        assert.equal(text.length, previous.length, `change ${c}: the size kept`);
        const head = composed.sharedHead(previous);
        assert.ok(previous.subarray(0, head).equals(text.subarray(0, head)), 'sharedHead is true');
        // All but this change's lines, the set's end, the rest of the ruleset and the pad.
        assert.ok(text.length - head < 10_000 + padUnit(Buffer.byteLength(baseText)), `change ${c}: ${text.length - head} bytes after the shared head`);
      }
      previous = text;
    }
  });
});
