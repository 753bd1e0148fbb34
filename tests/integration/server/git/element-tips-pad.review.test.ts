/**
 * Review: the element API's fast path over a big ruleset (padded texts), with the blob-id worker
 * resuming hashes: over adds, deletes, pad crossings and folds, every blob id handed on is git's
 * id of the text a fresh reader composes, and every delta (ahead and not) rebuilds it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dirname, join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { ElementTips } from '../../../../server/git/element-tips.js';
import { RefUpdater } from '../../../../host/ref-updater.js';
import { changeSetElements } from '../../../../server/git/set-elements.js';
import { RulesetRepository } from '../../../../server/git/ruleset-repository.js';
import { gitBlobId } from '../../../../shared/git/git-blob-id.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';
import { BlobIdThread } from '../../../../host/blob-id-thread.js';
import { applyRulesetDelta } from '../../../../shared/wire/ruleset-delta.js';
import { rng } from '../../../helpers/seeded-rng.js';

const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const blocklist = { family: 'inet', table: 'filter', name: 'blocklist' };

describe('ElementTips over padded texts (review)', () => {
  test('adds, deletes, pad crossings and folds: every id handed on is git\'s id of the composed text; every delta rebuilds it; hashes resume', async (t) => {
    const dir = tempDir(t);
    const bare = join(dir, 'rules.git');
    const work = join(dir, 'work');
    git(dir, ['init', '-q', '--bare', '-b', 'main', bare]);
    git(dir, ['init', '-q', '-b', 'main', work]);
    git(work, ['remote', 'add', 'origin', bare]);
    const file = join(work, 'rulesets/edge.json');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, renderRuleset({ nftables: [
      { table: { family: 'inet', name: 'filter' } },
      { set: { ...blocklist, type: 'ipv4_addr', elem: Array.from({ length: 60_000 }, (_, i) => ip(i)) } },
      { chain: { family: 'inet', table: 'filter', name: 'in', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
    ] }));
    git(work, ['add', '-A']);
    git(work, ['commit', '-qm', 'edge']);
    git(work, ['push', '-q', 'origin', 'HEAD:main']);
    const repo = await RulesetRepository.open(bare, { composeOffThreadBytes: 0 });
    const refs = new RefUpdater(bare);
    t.after(() => refs.close());
    const blobIds = new BlobIdThread();
    t.after(() => blobIds.close());
    const named: Array<Promise<string> | string> = [];
    const deltas: Array<{ base: string; target: string; delta: Buffer | undefined }> = [];
    const aheads: Array<{ commit: string; base: string; target: number; delta: Buffer }> = [];
    const tips = new ElementTips({
      gitdir: bare, refs, blobIds, spareDelayMs: 0,
      follow: (base, changes) => repo.followText(base, changes),
      prime: (b, c, bytes, blob) => { named.push(blob); repo.primeComposed(b, c, bytes, blob); },
      delta: (base, target, delta) => deltas.push({ base, target, delta }),
      ahead: (_ref, commit, a) => aheads.push({ commit, base: a.base, target: a.target, delta: a.delta }),
    });
    t.after(() => tips.close());
    const r = rng(11);
    let next = 100_000;
    const live: number[] = [];
    const byBlob = new Map<string, Buffer>();
    let folds = 0;
    for (let i = 0; i < 24; i++) {
      const add = Array.from({ length: r() < 0.8 ? 1000 : 3 }, () => { live.push(next); return ip(next++); });
      const del = r() < 0.25 ? live.splice(Math.floor(r() * live.length), 1 + Math.floor(r() * 3)).map(ip) : r() < 0.1 ? [ip(Math.floor(r() * 60_000))] : [];
      const res = await changeSetElements({ gitdir: bare, branch: 'main', ruleset: 'edge', set: blocklist, owner: 'alice', nft: 'off', tips, add, delete: del });
      if (res.folded) folds++;
      const fresh = await (await RulesetRepository.open(bare)).readRuleset(res.commit, 'edge');
      assert.equal(fresh.blob, gitBlobId(fresh.bytes), `change ${i}: the fresh reader's id`);
      const served = await repo.readRuleset(res.commit, 'edge');
      assert.equal(served.blob, fresh.blob, `change ${i}: the id handed on is the composed text's`);
      assert.ok(served.bytes.equals(fresh.bytes), `change ${i}: the text handed on is the composed one`);
      byBlob.set(fresh.blob, fresh.bytes);
      const a = aheads.find((x) => x.commit === res.commit);
      if (a) assert.ok(applyRulesetDelta(byBlob.get(a.base)!, a.delta, 1 << 28).equals(fresh.bytes), `change ${i}: the ahead delta rebuilds the text`);
      const d = deltas.find((x) => x.target === fresh.blob);
      if (d?.delta) assert.ok(applyRulesetDelta(byBlob.get(d.base)!, d.delta, 1 << 28).equals(fresh.bytes), `change ${i}: the delta rebuilds the text`);
    }
    for (const n of named) await n;
    assert.ok(folds >= 1, `${folds} folds`);
    assert.ok(blobIds.resumedBytes > 0, 'some hashes resumed');
    t.diagnostic(`folds ${folds}, aheads ${aheads.length}, resumed ${blobIds.resumedBytes} bytes`);
  });
});
