/**
 * shared/config/agent-glob.ts: the agent-name patterns of nft-sync.yaml. Matching (fixed cases,
 * a pathological pattern, agreement with a reference regex) and every refusal of compile. The
 * pathological pattern's speed is a bench row (bench/agent-glob.ts), not asserted here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AGENT_GLOB_MAX_LENGTH, compileAgentGlob, matchAgentGlob } from '../../../../shared/config/agent-glob.js';

describe('agent globs', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*', '', true], ['*', 'anything', true], ['?', '', false], ['?', 'a', true], ['a*b*c', 'abc', true],
    ['a*b*c', 'aXbYc', true], ['a*b*c', 'acb', false], ['a*a', 'a', false], ['a*a', 'aa', true],
    ['*ab*ab*', 'abab', true], ['*ab*ab*', 'aba', false], ['**x**', 'x', true], ['[a-c-]', '-', true],
    ['[-a]', '-', true], ['[!-]', '-', false], ['[.]x', '.x', true], ['x', 'X', false], ['.*', '.', true],
  ];
  for (const [pattern, name, want] of cases) {
    it(`${pattern} ${want ? 'matches' : 'does not match'} ${JSON.stringify(name)}`, () =>
      assert.equal(matchAgentGlob(compileAgentGlob(pattern), name), want));
  }

  it('answers a pathological pattern (many stars) correctly', () => {
    const glob = compileAgentGlob(`${'*a'.repeat(120)}*b`);
    assert.equal(matchAgentGlob(glob, 'a'.repeat(253)), false, 'no b');
    assert.equal(matchAgentGlob(glob, `${'a'.repeat(120)}b`), true, '120 a then b');
    assert.equal(matchAgentGlob(glob, `${'a'.repeat(119)}b`), false, 'one a too few');
    assert.equal(matchAgentGlob(glob, `${'xa'.repeat(120)}yb`), true, 'stars take the rest');
  });

  it('agrees with a reference regex on random patterns (property)', () => {
    const alphabet = fc.constantFrom('a', 'b', '-');
    const token = fc.oneof(alphabet, fc.constant('*'), fc.constant('?'), fc.constant('[ab]'), fc.constant('[!a]'), fc.constant('[a-b]'));
    fc.assert(
      fc.property(fc.array(token, { minLength: 1, maxLength: 8 }), fc.array(alphabet, { maxLength: 10 }), (tokens, chars) => {
        const pattern = tokens.join('');
        const name = chars.join('');
        // Reference only: the token set is fixed above, so this regex is safe here.
        const re = new RegExp(`^${tokens.map((t) => (t === '*' ? '.*' : t === '?' ? '.' : t.replace('!', '^'))).join('')}$`);
        return matchAgentGlob(compileAgentGlob(pattern), name) === re.test(name);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('compileAgentGlob: refusals', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /is empty/],
    ['a'.repeat(AGENT_GLOB_MAX_LENGTH + 1), new RegExp(`longer than ${AGENT_GLOB_MAX_LENGTH} characters`)],
    ['web-[ab', /unclosed '\[' at position 4/],
    ['web-[]', /empty class at position 4/],
    ['[z-a]', /reversed range 'z-a'/],
    ['[a/]', /"\/" in a class/],
    ['web 1', /" " at position 3/],
    ['a/b', /"\/" at position 1/],
  ];
  for (const [pattern, why] of cases) {
    it(`refuses ${JSON.stringify(pattern.slice(0, 20))} (NFTSYNC_ERR_REPO_CONFIG_INVALID, the pattern in data)`, () =>
      assert.throws(() => compileAgentGlob(pattern), (err: Error & { code?: string; data?: { pattern?: string } }) => err.code === 'NFTSYNC_ERR_REPO_CONFIG_INVALID' && why.test(err.message) && err.data?.pattern === pattern.slice(0, 80)));
  }
  it('takes a pattern of exactly the longest length', () => assert.equal(matchAgentGlob(compileAgentGlob('a'.repeat(AGENT_GLOB_MAX_LENGTH)), 'a'.repeat(AGENT_GLOB_MAX_LENGTH)), true));
});
