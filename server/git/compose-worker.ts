/**
 * The worker thread that composes big rulesets (server/git/compose-thread.ts): the base and its
 * element change files in, the effective text out (shared/ruleset/compose-ruleset.ts), so the
 * server's event loop goes on answering agents and the API while a 1,000,000-element set is
 * parsed and rendered (seconds). One request at a time, in the order sent.
 */
import { parentPort } from 'node:worker_threads';
import { composeRulesetText, type RulesetFile } from '../../shared/ruleset/compose-ruleset.js';
import { toNftSyncError } from '../../shared/errors.js';

export type ComposeRequest = { id: number; base: RulesetFile; changes: RulesetFile[] };
export type ComposeAnswer = { id: number; text: Uint8Array } | { id: number; error: { code: string; message: string; data?: Record<string, unknown> } };

const port = parentPort;
if (port) {
  port.on('message', (m: ComposeRequest) => {
    try {
      const text = composeRulesetText(m.base, m.changes);
      const bytes = typeof text === 'string' ? Buffer.from(text) : text;
      // A copy of its own, so its memory can move to the server's thread without a second copy.
      const out = new Uint8Array(bytes.length);
      out.set(bytes);
      port.postMessage({ id: m.id, text: out } satisfies ComposeAnswer, [out.buffer]);
    } catch (err) {
      const e = toNftSyncError(err);
      port.postMessage({ id: m.id, error: { code: e.code, message: e.message, ...(e.data && { data: e.data }) } } satisfies ComposeAnswer);
    }
  });
}
