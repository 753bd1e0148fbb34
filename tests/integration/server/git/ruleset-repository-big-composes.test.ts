/**
 * Big rulesets composed at once are bounded (repository.composeSlots): a client asking for many
 * old revisions of a big ruleset at once does not have every one's files read and copied to the
 * compose worker at once; all are still served, each the bytes a lone read gives, and an error
 * keeps its code and data.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RulesetRepository } from '../../../../server/git/ruleset-repository.js';
import { parseChangeFile, renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { ComposedText } from '../../../../shared/ruleset/composed-text.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';
import { expectCode } from '../../../helpers/expect-code.js';

const ip = (i: number): string => `198.18.${(i >> 8) & 255}.${i & 255}`;
const set = { family: 'inet', table: 'f', name: 'block' };

test('many different revisions of a big ruleset asked at once: at most composeSlots composed at a time, every one served as read alone', async (t) => {
  const dir = tempDir(t);
  const work = join(dir, 'w');
  git(dir, ['init', '-q', '-b', 'main', work]);
  mkdirSync(join(work, 'rulesets/big.elements'), { recursive: true });
  const commits: string[] = [];
  for (let i = 0; i < 12; i++) {
    const elem = Array.from({ length: 200 }, (_, k) => ip(k + i));
    writeFileSync(join(work, 'rulesets/big.json'), renderRuleset({ nftables: [{ table: { family: 'inet', name: 'f' } }, { set: { ...set, type: 'ipv4_addr', elem } }] }));
    writeFileSync(join(work, 'rulesets/big.elements/000001.json'), renderChangeFile(set, [ip(1000 + i)], [ip(i)]));
    git(work, ['add', '-A']);
    git(work, ['commit', '-qm', String(i)]);
    commits.push(git(work, ['rev-parse', 'HEAD']));
  }
  // A revision whose change file names a set the base lacks: composing it throws.
  writeFileSync(join(work, 'rulesets/big.elements/000001.json'), renderChangeFile({ ...set, name: 'nope' }, [ip(1)], []));
  git(work, ['add', '-A']);
  git(work, ['commit', '-qm', 'bad']);
  const bad = git(work, ['rev-parse', 'HEAD']);

  // Every base "big"; composeSlots 2.
  const repo = await RulesetRepository.open(work, { composeOffThreadBytes: 0, composeSlots: 2 });
  const composer = (repo as unknown as { composer: { compose: (...a: unknown[]) => Promise<Buffer> } }).composer;
  const compose = composer.compose.bind(composer);
  let now = 0;
  let most = 0;
  composer.compose = async (...a: unknown[]) => {
    most = Math.max(most, ++now);
    try {
      return await compose(...a);
    } finally {
      now--;
    }
  };
  const all = await Promise.all([...commits.map((c) => repo.readRuleset(c, 'big')), expectCode(repo.readRuleset(bad, 'big'), 'NFTSYNC_ERR_SET_NOT_FOUND')]);
  assert.ok(most <= 2, `at most 2 composes at once (saw ${most})`);
  const alone = await RulesetRepository.open(work, { composeOffThreadBytes: Number.MAX_SAFE_INTEGER });
  for (const [i, c] of commits.entries()) {
    const got = all[i] as { blob: string; bytes: Buffer };
    assert.ok(got.bytes.equals((await alone.readRuleset(c, 'big')).bytes), `revision ${i} as composed alone`);
  }
  const err = all[commits.length] as { data?: Record<string, unknown> };
  assert.equal(err.data?.path, 'rulesets/big.elements/000001.json', 'SET_NOT_FOUND keeps data.path through the worker');
});

test('the element API\'s big tips built at once are bounded too (followText: composeSlots), every one as built alone', async (t) => {
  const dir = tempDir(t);
  const work = join(dir, 'w');
  git(dir, ['init', '-q', '-b', 'main', work]);
  const repo = await RulesetRepository.open(work, { composeOffThreadBytes: 0, composeSlots: 2 });
  const composer = (repo as unknown as { composer: { follow: (...a: unknown[]) => Promise<unknown> } }).composer;
  const follow = composer.follow.bind(composer);
  let now = 0;
  let most = 0;
  composer.follow = async (...a: unknown[]) => {
    most = Math.max(most, ++now);
    try {
      return await follow(...a);
    } finally {
      now--;
    }
  };
  const bases = Array.from({ length: 10 }, (_, i) =>
    Buffer.from(renderRuleset({ nftables: [{ table: { family: 'inet', name: 'f' } }, { set: { ...set, type: 'ipv4_addr', elem: Array.from({ length: 100 }, (_, k) => ip(k + i)) } }] })),
  );
  const change = (i: number): Buffer => Buffer.from(renderChangeFile(set, [ip(2000 + i)], []));
  const tips = await Promise.all(bases.map((b, i) => repo.followText(b, [change(i)])));
  assert.ok(most <= 2, `at most 2 tips built at once (saw ${most})`);
  for (const [i, tip] of tips.entries()) {
    const alone = ComposedText.build(bases[i]!, [parseChangeFile(change(i))]);
    assert.ok(tip !== undefined && alone !== undefined && tip.text()!.equals(alone.text()!), `tip ${i} as built alone`);
  }
});
