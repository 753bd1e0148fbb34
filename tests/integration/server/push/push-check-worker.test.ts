/**
 * server/push/push-check-worker.ts as the service runs it, in a worker thread: a check's lines
 * and its exit code by request id (real nft in the worker's scratch namespaces, whose creation
 * and removal it reports), and close() answered with 'closed' after the namespaces are gone.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { WorkerMessage, WorkerRequest } from '../../../../server/push/push-check-worker.js';
import { initRepository } from '../../../../server/git/init-repository.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';

test('the push-check worker: lines then done per id (0 valid, 1 refused), netns created and removed, closed last', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t, 'nft-sync-pcw-');
  const bare = join(dir, 'rules.git');
  await initRepository(bare, 'repo-template');
  git(dir, ['clone', '-q', bare, 'c']);
  const clone = join(dir, 'c');
  const good = git(bare, ['rev-parse', 'main']);
  writeFileSync(join(clone, 'rulesets/default.json'), '{"nftables": [{"table": {"family": "inet"}}]}');
  git(clone, ['commit', '-qam', 'bad']);
  const bad = git(clone, ['rev-parse', 'HEAD']);
  git(clone, ['push', '-q', 'origin', 'HEAD:refs/pending/bad']);

  const entry = new URL('../../../../server/push/push-check-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(`import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry)}))`, { eval: true });
  t.after(() => worker.terminate());
  const messages: WorkerMessage[] = [];
  const waiters: Array<() => void> = [];
  worker.on('message', (m: WorkerMessage) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const until = async (pred: () => boolean) => {
    while (!pred()) await new Promise<void>((r) => waiters.push(r));
  };
  const send = (m: WorkerRequest) => worker.postMessage(m);
  send({ type: 'check', id: 1, input: `${'0'.repeat(40)} ${good} refs/heads/x\n`, gitdir: bare, gitEnv: {} });
  await until(() => messages.some((m) => m.type === 'done' && m.id === 1));
  send({ type: 'check', id: 2, input: `${good} ${bad} refs/heads/main\n`, gitdir: bare, gitEnv: {} });
  await until(() => messages.some((m) => m.type === 'done' && m.id === 2));
  const done = (id: number) => messages.find((m): m is Extract<WorkerMessage, { type: 'done' }> => m.type === 'done' && m.id === id)!.code;
  const lines = (id: number) => messages.filter((m): m is Extract<WorkerMessage, { type: 'line' }> => m.type === 'line' && m.id === id).map((m) => m.line);
  assert.equal(done(1), 0, lines(1).join('\n'));
  assert.equal(done(2), 1);
  assert.ok(lines(2).some((l) => /rulesets\/default\.json .*NFTSYNC_ERR_RULESET_SCHEMA/.test(l)), lines(2).join('\n'));
  const created = messages.flatMap((m) => (m.type === 'netns' && m.created ? [m.created] : []));
  assert.ok(created.length >= 1, 'the valid push was loaded in a scratch namespace');
  send({ type: 'close' });
  await until(() => messages.some((m) => m.type === 'closed'));
  const removed = messages.flatMap((m) => (m.type === 'netns' && m.removed ? [m.removed] : []));
  assert.deepEqual(removed.sort(), created.sort());
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const name of created) assert.doesNotMatch(left, new RegExp(`^${name}\\b`, 'm'));
  assert.equal(messages.at(-1)?.type, 'closed');
});
