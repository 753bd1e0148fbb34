// Module-loader hooks for tests/integration/cli/agent-module-graph.test.ts: appends every URL
// the process resolves to the file named by NFT_SYNC_MODULE_LOG (one per line).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.NFT_SYNC_MODULE_LOG) appendFileSync(process.env.NFT_SYNC_MODULE_LOG, `${r.url}\n`);
  return r;
}
