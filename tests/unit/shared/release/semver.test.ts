import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSemver, highestTag, nextPatchTag, parseSemver } from '../../../../shared/release/semver.js';

describe('semver tags', () => {
  it('orders versions as semver 2.0.0 does', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.2.0', '1.10.0', '2.0.0'];
    for (let i = 0; i + 1 < ordered.length; i++) {
      assert.ok(compareSemver(parseSemver(ordered[i]!)!, parseSemver(ordered[i + 1]!)!) < 0, `${ordered[i]} < ${ordered[i + 1]}`);
    }
    assert.equal(compareSemver(parseSemver('v1.2.3+build.5')!, parseSemver('1.2.3')!), 0);
  });
  it('ignores tags that are not versions', () => {
    for (const t of ['latest', '1.2', 'v01.2.3', '1.2.3.4', 'v1.2.3-', '1.2.3-a..b']) assert.equal(parseSemver(t), undefined, t);
  });
  const tags = ['a-b-0.9.0', 'v1.0.0', 'v1.9.0', 'v1.10.0', 'v2.0.0-rc.1', 'prod-3.0.0', 'latest', 'v1.10.0-rc.9'];
  const cases: Array<[string, string | undefined]> = [
    ['v*', 'v2.0.0-rc.1'],
    ['v1.*', 'v1.10.0'],
    ['prod-*', 'prod-3.0.0'],
    ['nothing-*', undefined],
    ['a-b-*', 'a-b-0.9.0'],
  ];
  for (const [pattern, want] of cases) it(`highest of ${pattern} is ${want}`, () => assert.equal(highestTag(tags, pattern), want));
  it('refuses hostile patterns', () => {
    for (const p of ['../*', 'a/b*', '', 'x'.repeat(300)]) assert.throws(() => highestTag(tags, p), { code: 'NFTSYNC_ERR_REF_INVALID' }, p);
  });
});

it('nextPatchTag: the next patch release, spelled like the tag it follows', () => {
  const cases: Array<[string, string | undefined]> = [
    ['v1.2.3', 'v1.2.4'],
    ['1.2.3', '1.2.4'],
    ['release-1.9.9', 'release-1.9.10'],
    ['edge_v0.0.9', 'edge_v0.0.10'],
    ['v1.3.0-rc.1', 'v1.3.0'],
    ['v1.2.3+build.7', 'v1.2.4'],
    ['rel-v2-1.0.0', 'rel-v2-1.0.1'],
    ['latest', undefined],
  ];
  for (const [tag, next] of cases) {
    assert.equal(nextPatchTag(tag), next, tag);
    if (next) assert.ok(compareSemver(parseSemver(next)!, parseSemver(tag)!) > 0, `${next} is above ${tag}`);
  }
});
