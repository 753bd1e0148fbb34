/**
 * The agent never loads the server's code: cli/main.ts imports each command's module only when
 * that command runs. An agent process runs for real (it applies a revision into a throwaway
 * namespace, then stops) with a loader hook recording every module it resolves; fastify,
 * isomorphic-git and server/ must not be among them. The same recorder sees them in `server`
 * (so an empty record cannot pass).
 *
 * Nor does it load a schema library: its checks (wire messages, rulesets, state.json) run the
 * validators compiled at build time (scripts/generate-validators.ts), not TypeBox and ajv,
 * which cost an idle agent 6 to 12 MB. Every package the agent imports is in AGENT_PACKAGES: a
 * new one is a decision about the agent's memory (`npm run bench -- --only rss`), made here.
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
/** The packages an agent loads: its logger. (tsx runs the sources here; the agent ships compiled.) */
const AGENT_PACKAGES = ['pino'];
/** What runs the TypeScript sources in this test (tsx and its esbuild), not part of the agent. */
const TEST_LOADER = new Set(['tsx', 'esbuild']);

/** The packages among module URLs: `@scope/name` or `name`, after the last node_modules/. */
function packagesOf(urls: string[]): string[] {
  const names = urls.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(u)?.[1]).filter((n): n is string => n !== undefined);
  return [...new Set(names)].filter((n) => !TEST_LOADER.has(n)).sort();
}

test('the agent command\'s module graph has no fastify, isomorphic-git or server/ module, no TypeBox or ajv: of packages only pino', async (t) => {
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
  assert.deepEqual(packagesOf(modules), AGENT_PACKAGES, 'the packages the agent loads');
  assert.deepEqual([...new Set(modules.filter((m) => /\/(shared\/wire\/message-schemas|shared\/ruleset\/ruleset-types|agent\/state\/state-file-schema)\.(ts|js)$/.test(m)))], [], 'no module that builds schemas');

  const serverLog = join(dir, 'server-modules.txt');
  process.env.NFT_SYNC_MODULE_LOG = serverLog;
  const help = await runCli(['server', '--help'], { node: RECORDER });
  assert.equal(help.code, 0, help.stderr);
  const serverModules = readFileSync(serverLog, 'utf8').split('\n').filter(Boolean);
  assert.ok(serverModules.some((m) => /\/node_modules\/fastify\//.test(m)), 'the server loads fastify');
  assert.ok(packagesOf(serverModules).includes('@sinclair/typebox'), 'the recorder sees a scoped package (the server\'s HTTP schemas)');
});
