/**
 * publishRevision on a real bare repository: a live change committed as sent, merged onto a tip
 * that moved, a conflict named and nothing committed, the compare-and-swap under a racing push,
 * and the push validator judging the commit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { publishRevision } from '../../../../server/publish/publish-revision.js';
import { validatePush } from '../../../../server/push/push-validator.js';
import type { RefUpdate } from '../../../../shared/push/push-checks.js';
import { startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { composeRuleset, composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const withPort = (text: string, p: number) => text.replace(/"right": 22\b/, `"right": ${p}`);
/** DEFAULT with one more rule in chain `chain` accepting tcp port `port`. */
function plusRule(text: string, chain: string, port: number): string {
  const doc = JSON.parse(text) as { nftables: unknown[] };
  doc.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain, expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: port } }, { accept: null }] } });
  return `${JSON.stringify(doc, null, 2)}\n`;
}
const offline = (f: ServerFixture) => (updates: RefUpdate[]) => validatePush(updates, { gitdir: f.bare, nft: 'off' });
const fileAt = (f: ServerFixture, commit: string) => f.git(['show', `${commit}:rulesets/default.json`], f.bare);

describe('publishRevision', () => {
  test('on an unmoved branch the live ruleset is committed as sent, authored by the agent', async (t) => {
    const f = await startServerFixture(t);
    const base = f.git(['rev-parse', 'main'], f.bare);
    const live = plusRule(DEFAULT, 'input', 8080);
    const r = await publishRevision({ gitdir: f.bare, branch: 'main', ruleset: 'default', base, bytes: Buffer.from(live), agent: 'node-a', credential: 'token of ops', validate: offline(f) });
    assert.equal(r.rebased, false);
    assert.equal(r.unchanged, false);
    assert.equal(f.git(['rev-parse', 'main'], f.bare), r.commit);
    assert.equal(f.git(['rev-parse', `${r.commit}^`], f.bare), base);
    assert.equal(f.git(['log', '-1', '--format=%an|%cn', r.commit], f.bare), 'node-a|nft-sync');
    assert.match(f.git(['log', '-1', '--format=%B', r.commit], f.bare), /rule added in inet nft_sync input[\s\S]*Published-by: node-a \(token of ops\)/);
    assert.equal(fileAt(f, r.commit), live.trimEnd());
    // Publishing the same content again makes no commit.
    const again = await publishRevision({ gitdir: f.bare, branch: 'main', ruleset: 'default', base: r.commit, bytes: Buffer.from(live), agent: 'node-a', credential: 'x', validate: offline(f) });
    assert.equal(again.unchanged, true);
    assert.equal(again.commit, r.commit);
    // Only what changed shows in the diff, even when the live listing is in nft's own form.
    const listed = JSON.parse(plusRule(live, 'output', 53)) as { nftables: Array<Record<string, unknown>> };
    const [meta, ...items] = listed.nftables;
    listed.nftables = [meta!, ...items.filter((i) => !('rule' in i)), ...items.filter((i) => 'rule' in i).reverse().reverse()];
    for (const i of listed.nftables) if ('chain' in i) i.chain = Object.fromEntries(Object.entries(i.chain as object).reverse()); // keys in another order
    const r2 = await publishRevision({ gitdir: f.bare, branch: 'main', ruleset: 'default', base: r.commit, bytes: Buffer.from(JSON.stringify(listed)), agent: 'node-a', credential: 'x', validate: offline(f) });
    assert.equal(r2.rebased, false);
    const stat = f.git(['diff', '--numstat', r.commit, r2.commit], f.bare);
    assert.match(stat, /^\d+\t\d+\trulesets\/default.json$/);
    const [added, removed] = stat.split('\t').map(Number);
    assert.ok(added! + removed! < 40, `a small diff: ${stat}`);
  });

  test('when the branch moved, a change to other objects is merged onto the tip: both survive', async (t) => {
    const f = await startServerFixture(t);
    const base = f.git(['rev-parse', 'main'], f.bare);
    const tip = f.push({ 'rulesets/default.json': plusRule(DEFAULT, 'output', 53) }, 'someone else');
    const r = await publishRevision({ gitdir: f.bare, branch: 'main', ruleset: 'default', base, bytes: Buffer.from(plusRule(DEFAULT, 'input', 8080)), agent: 'node-a', credential: 'x', validate: offline(f) });
    assert.equal(r.rebased, true);
    assert.equal(f.git(['rev-parse', `${r.commit}^`], f.bare), tip);
    const merged = fileAt(f, r.commit);
    assert.match(merged, /"chain": "output",\s*"expr": \[[^\]]*"right": 53/);
    assert.match(merged, /"chain": "input",\s*"expr": \[[^\]]*"right": 8080/);
  });

  test('when both changed the same object: NFTSYNC_ERR_PUBLISH_CONFLICT naming it, nothing committed', async (t) => {
    const f = await startServerFixture(t);
    const base = f.git(['rev-parse', 'main'], f.bare);
    const tip = f.push({ 'rulesets/default.json': withPort(DEFAULT, 2222) }, 'someone else');
    await assert.rejects(
      publishRevision({ gitdir: f.bare, branch: 'main', ruleset: 'default', base, bytes: Buffer.from(withPort(DEFAULT, 2223)), agent: 'node-a', credential: 'x', validate: offline(f) }),
      (e: { code: string; message: string; data: { conflicts: string[] } }) => e.code === 'NFTSYNC_ERR_PUBLISH_CONFLICT' && /chain inet nft_sync input/.test(e.message) && e.data.conflicts.length === 1,
    );
    assert.equal(f.git(['rev-parse', 'main'], f.bare), tip);
  });

  test('a push landing between building and moving the ref: merged again onto it, the push kept (compare-and-swap)', async (t) => {
    const f = await startServerFixture(t);
    const base = f.git(['rev-parse', 'main'], f.bare);
    let pushed = '';
    const r = await publishRevision({
      gitdir: f.bare, branch: 'main', ruleset: 'default', base, bytes: Buffer.from(plusRule(DEFAULT, 'input', 8080)), agent: 'node-a', credential: 'x', validate: offline(f),
      beforeUpdate: (attempt) => {
        if (attempt === 1) pushed = f.push({ 'rulesets/default.json': plusRule(DEFAULT, 'output', 53) }, 'racing push');
      },
    });
    assert.equal(r.attempts, 2);
    assert.equal(f.git(['rev-parse', `${r.commit}^`], f.bare), pushed);
    assert.match(fileAt(f, r.commit), /"right": 53[\s\S]*"right": 8080|"right": 8080[\s\S]*"right": 53/);
  });

  test('the push validator judges the commit: a ruleset nft refuses is NFTSYNC_ERR_PUSH_REFUSED, the branch stays', async (t) => {
    const f = await startServerFixture(t);
    const base = f.git(['rev-parse', 'main'], f.bare);
    const doc = JSON.parse(DEFAULT) as { nftables: unknown[] };
    doc.nftables.push({ rule: { family: 'inet', table: 'nft_sync', chain: 'input', expr: [{ jump: { target: 'nowhere' } }] } });
    const bad = JSON.stringify(doc);
    await assert.rejects(
      publishRevision({ gitdir: f.bare, branch: 'main', ruleset: 'default', base, bytes: Buffer.from(bad), agent: 'node-a', credential: 'x' }),
      (e: { code: string; message: string }) => e.code === 'NFTSYNC_ERR_PUSH_REFUSED' && /NFTSYNC_ERR_NFT_APPLY/.test(e.message),
    );
    assert.equal(f.git(['rev-parse', 'main'], f.bare), base);
  });

  test('a ruleset with element change files: merged as composed, written whole as the base, the change files removed', async (t) => {
    const f = await startServerFixture(t);
    const set = { family: 'inet', table: 'nft_sync', name: 'blocked' };
    const doc = JSON.parse(DEFAULT) as { nftables: unknown[] };
    doc.nftables.push({ set: { ...set, type: 'ipv4_addr', elem: ['198.18.0.1'] } });
    f.push({ 'rulesets/default.json': `${JSON.stringify(doc, null, 2)}\n` }, 'a set');
    const applied = f.push({ 'rulesets/default.elements/000001.json': renderChangeFile(set, ['198.18.0.2'], []) }, 'element change 1');
    // What the agent applied (and lists back) is the composed ruleset; it adds a rule live.
    const live = plusRule(renderRuleset(composeRuleset({ path: 'b', bytes: fileAt(f, applied) }, [{ path: 'c', bytes: renderChangeFile(set, ['198.18.0.2'], []) }])), 'input', 8080);
    // Meanwhile another element change lands on the branch.
    f.push({ 'rulesets/default.elements/000002.json': renderChangeFile(set, ['198.18.0.3'], ['198.18.0.1']) }, 'element change 2');
    const r = await publishRevision({ gitdir: f.bare, branch: 'main', ruleset: 'default', base: applied, bytes: Buffer.from(live), agent: 'node-a', credential: 'x', validate: offline(f) });
    assert.equal(r.rebased, true);
    assert.equal(f.git(['ls-tree', '--name-only', r.commit, 'rulesets/'], f.bare), 'rulesets/default.json', 'the change files are gone');
    const written = JSON.parse(fileAt(f, r.commit)) as { nftables: Array<Record<string, { name?: string; elem?: unknown[] }>> };
    assert.deepEqual(new Set(written.nftables.find((i) => i.set?.name === 'blocked')!.set!.elem), new Set(['198.18.0.2', '198.18.0.3']), 'both element changes kept');
    assert.match(fileAt(f, r.commit), /"right": 8080/, 'and the live change');
  });

  test('a big ruleset with element change files published unchanged: `blob` is the id agents fetch it by (the composed text, its pad included)', async (t) => {
    const f = await startServerFixture(t);
    const set = { family: 'inet', table: 'nft_sync', name: 'blocked' };
    const doc = JSON.parse(DEFAULT) as { nftables: unknown[] };
    // Over 1 MiB of base: the composed text ends with a pad (shared/ruleset/text-pad.ts).
    doc.nftables.push({ set: { ...set, type: 'ipv4_addr', elem: Array.from({ length: 60000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`) } });
    const baseText = renderRuleset(doc);
    assert.ok(baseText.length >= 1 << 20);
    const change = renderChangeFile(set, ['198.18.0.2'], []);
    f.push({ 'rulesets/default.json': baseText, 'rulesets/default.elements/000001.json': change }, 'a big set and a change');
    const head = f.git(['rev-parse', 'main'], f.bare);
    const served = composeRulesetText({ path: 'b', bytes: baseText }, [{ path: 'c', bytes: change }]);
    const r = await publishRevision({ gitdir: f.bare, branch: 'main', ruleset: 'default', base: head, bytes: Buffer.from(served), agent: 'node-a', credential: 'x', validate: offline(f) });
    assert.equal(r.unchanged, true);
    assert.equal(r.blob, gitBlobId(Buffer.from(served)));
  });
});
