/** cli/commands/status.ts: `nft-sync status` prints the agents the server knows, exit 3 when one is not Ready. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WireClient } from '../../../../agent/wire/wire-client.js';
import { runCli } from '../../../helpers/cli-process.js';
import { startServerFixture } from '../../../helpers/server-fixture.js';
import { waitFor } from '../../../helpers/wait-for.js';

test('status: a table of agents, --json a document; exit 0 when all are Ready, 3 when one failed', async (t) => {
  const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 } });
  const http = `http://127.0.0.1:${f.server.httpAddress!.port}`;
  const head = f.git(['rev-parse', 'HEAD']);
  const client = await WireClient.connect({ host: f.host, port: f.port, agent: 'web-1' });
  t.after(() => client.close());
  await client.report({ agent: 'web-1', ref: 'main', commit: head, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] });
  await waitFor(() => f.server.wire.registry.get('web-1')?.status?.commit === head);
  const ok = await runCli(['status', '--http', http]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`^web-1 +main +- +${head.slice(0, 12)} +Applied +Applied .* yes$`, 'm'));
  await client.report({ agent: 'web-1', ref: 'main', commit: head, state: 'Failed', conditions: [{ type: 'Ready', status: 'False', reason: 'ApplyFailed', message: 'NFTSYNC_ERR_NFT_APPLY: no' }] });
  await waitFor(() => f.server.wire.registry.get('web-1')?.status?.state === 'Failed');
  const failed = await runCli(['status', '--http', http, '--json']);
  assert.equal(failed.code, 3, failed.stderr);
  const doc = JSON.parse(failed.stdout) as { ready: boolean; agents: Array<{ name: string; state: string }> };
  assert.equal(doc.ready, false);
  assert.deepEqual(doc.agents.map((a) => [a.name, a.state]), [['web-1', 'Failed']]);
  const down = await runCli(['status', '--http', 'http://127.0.0.1:1']);
  assert.notEqual(down.code, 0);
  assert.match(down.stderr, /NFTSYNC_ERR_/);
});
