/**
 * The compose worker's messages, spoken to directly: a ruleset's text composed from Uint8Arrays
 * (what Buffers become on the way), an error with its code, a tip that cannot be followed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { ComposeAnswer, ComposeRequest } from '../../../../server/git/compose-worker.js';
import { composeRulesetText } from '../../../../shared/ruleset/compose-ruleset.js';
import { renderChangeFile } from '../../../../shared/ruleset/element-log.js';
import { renderRuleset } from '../../../../shared/ruleset/render-ruleset.js';

const entry = new URL('../../../../server/git/compose-worker.ts', import.meta.url);
const tsx = import.meta.resolve('tsx/esm/api');

test('answers compose, error and follow requests by id', async (t) => {
  const worker = new Worker(`import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}))`, { eval: true });
  t.after(() => worker.terminate());
  const ask = (m: ComposeRequest): Promise<ComposeAnswer> =>
    new Promise((done) => {
      const on = (a: ComposeAnswer) => {
        if (a.id !== m.id) return;
        worker.off('message', on);
        done(a);
      };
      worker.on('message', on);
      worker.postMessage(m);
    });
  const set = { family: 'inet', table: 'f', name: 'block' };
  const base = renderRuleset({ nftables: [{ table: { family: 'inet', name: 'f' } }, { set: { ...set, type: 'ipv4_addr', elem: ['198.18.0.1', '198.18.0.2'] } }] });
  const change = renderChangeFile(set, ['198.18.0.3'], ['198.18.0.1']);
  const composed = await ask({ id: 1, kind: 'compose', base: { path: 'b', bytes: Buffer.from(base) }, changes: [{ path: 'c', bytes: Buffer.from(change) }] });
  assert.ok('text' in composed);
  assert.equal(Buffer.from(composed.text).toString(), composeRulesetText({ path: 'b', bytes: base }, [{ path: 'c', bytes: change }]));
  const failed = await ask({ id: 2, kind: 'compose', base: { path: 'b', bytes: '{"nftables": 1}' }, changes: [{ path: 'c', bytes: change }] });
  assert.ok('error' in failed && failed.error.code === 'NFTSYNC_ERR_RULESET_SCHEMA', JSON.stringify(failed));
  const followed = await ask({ id: 3, kind: 'follow', base: new TextEncoder().encode(base), changes: [new TextEncoder().encode(change)] });
  assert.ok('followed' in followed && followed.followed !== null && followed.followed.sets.length === 1);
  const refused = await ask({ id: 4, kind: 'follow', base: new TextEncoder().encode('not json'), changes: [] });
  assert.deepEqual(refused, { id: 4, followed: null });
});
