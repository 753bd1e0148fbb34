/**
 * The worker thread in which the server runs pre-receive checks (server/push/push-check-service.ts):
 * the validator stays loaded and its scratch namespaces warm (host/scratch-pool.ts) between
 * pushes, and the JSON, schema and read-back work of a big ruleset never blocks the server's
 * event loop, which keeps serving agents and the API meanwhile.
 *
 * Messages in: `{type:'check', id, input, gitdir, gitEnv}`, `{type:'close'}`. Out: `{type:'line',
 * id, line}`, `{type:'done', id, code}`, `{type:'netns', created|removed: NAME}` (the service keeps
 * its own record so a namespace is removed even if this thread dies), `{type:'closed'}`.
 */
import { parentPort } from 'node:worker_threads';
import { toNftSyncError } from '../../shared/errors.js';
import { preReceiveCheck } from './pre-receive-check.js';
import { ScratchPool } from '../../host/scratch-pool.js';

export type WorkerRequest = { type: 'check'; id: number; input: string; gitdir: string; gitEnv: Record<string, string> } | { type: 'close' };
export type WorkerMessage =
  | { type: 'line'; id: number; line: string }
  | { type: 'done'; id: number; code: number }
  | { type: 'netns'; created?: string; removed?: string }
  | { type: 'closed' };

const port = parentPort;
if (port) {
  const post = (m: WorkerMessage): void => port.postMessage(m);
  const pool = new ScratchPool({ onCreate: (name) => post({ type: 'netns', created: name }), onRemove: (name) => post({ type: 'netns', removed: name }) });
  port.on('message', (m: WorkerRequest) => {
    if (m.type === 'close') {
      void pool.close().then(() => post({ type: 'closed' }));
      return;
    }
    const write = (line: string): void => post({ type: 'line', id: m.id, line });
    preReceiveCheck(m.input, { gitdir: m.gitdir, gitEnv: m.gitEnv, nft: 'auto', scratch: (ms) => pool.lease(ms), write }).then(
      (code) => post({ type: 'done', id: m.id, code }),
      (err: unknown) => {
        // As the hook's own process reports a failure: one coded line, and the push refused.
        const e = toNftSyncError(err);
        write(`nft-sync: ${e.code}: ${e.message.split('\n').join(' ')}`);
        post({ type: 'done', id: m.id, code: 1 });
      },
    );
  });
}
