/**
 * The agent never loads the server's code: cli/main.ts imports each command's module only when
 * that command runs. An agent process runs for real (it applies a revision into a throwaway
 * namespace, then stops) with a loader hook recording every module it resolves; fastify,
 * isomorphic-git and server/ must not be among them. The same recorder sees them in `server`
 * (so an empty record cannot pass).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startCli, runCli } from '../../helpers/cli-process.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { createNetns } from '../../helpers/netns.js';
import { startServerFixture } from '../../helpers/server-fixture.js';

const RECORDER = ['--import', './tests/helpers/module-graph-register.mjs'];
const SERVER_ONLY = /\/node_modules\/(fastify|isomorphic-git|@fastify)\/|\/server\/.+\.(ts|js)$/;

test('the agent command\'s module graph has no fastify, isomorphic-git or server/ module', async (t) => {
  const dir = tempDir(t, 'nft-sync-graph-');
  const fx = await startServerFixture(t);
  const ns = createNetns(t, 'graph');
  const log = join(dir, 'agent-modules.txt');
  process.env.NFT_SYNC_MODULE_LOG = log;
  t.after(() => delete process.env.NFT_SYNC_MODULE_LOG);
  const agent = startCli(t, ['agent', '--server', `${fx.host}:${fx.port}`, '--ref', 'main', '--name', 'graph', '--nft', ns.nftCommand, '--state-dir', join(dir, 'state'), '--log-level', 'info'], { node: RECORDER });
  await agent.waitFor(/"msg":"applied"/, 20_000);
  assert.equal(await agent.stop('SIGTERM'), 0);
  const modules = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  assert.ok(modules.some((m) => m.endsWith('/agent/agent-daemon.ts')), 'the recorder saw the agent');
  assert.deepEqual([...new Set(modules.filter((m) => SERVER_ONLY.test(m)))], []);

  const serverLog = join(dir, 'server-modules.txt');
  process.env.NFT_SYNC_MODULE_LOG = serverLog;
  const help = await runCli(['server', '--help'], { node: RECORDER });
  assert.equal(help.code, 0, help.stderr);
  assert.ok(readFileSync(serverLog, 'utf8').split('\n').some((m) => /\/node_modules\/fastify\//.test(m)), 'the server loads fastify');
});
