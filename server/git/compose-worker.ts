/**
 * The worker thread that composes big rulesets (server/git/compose-thread.ts): the base and its
 * element change files in, the effective text out (shared/ruleset/compose-ruleset.ts), so the
 * server's event loop goes on answering agents and the API while a 1,000,000-element set is
 * parsed and rendered (seconds); and the element API's tip of a big set (ComposedText.build),
 * handed back as typed arrays. One request at a time, in the order sent.
 */
import { parentPort } from 'node:worker_threads';
import { composeRulesetText, type RulesetFile } from '../../shared/ruleset/compose-ruleset.js';
import { toNftSyncError } from '../../shared/errors.js';
import { ComposedText, type ComposedTextState } from '../../shared/ruleset/composed-text.js';
import { parseChangeFile } from '../../shared/ruleset/element-log.js';

export type ComposeRequest = { id: number; kind: 'compose'; base: RulesetFile; changes: RulesetFile[] } | { id: number; kind: 'follow'; base: Uint8Array; changes: Uint8Array[] };
export type ComposeAnswer =
  | { id: number; text: Uint8Array }
  | { id: number; followed: ComposedTextState | null }
  | { id: number; error: { code: string; message: string; data?: Record<string, unknown> } };

const port = parentPort;
if (port) {
  port.on('message', (m: ComposeRequest) => {
    if (m.kind === 'follow') {
      // The element API's tip (shared/ruleset/composed-text.ts): built here, its buffers moved.
      let composed: ComposedText | undefined;
      try {
        composed = ComposedText.build(Buffer.from(m.base.buffer, m.base.byteOffset, m.base.byteLength), m.changes.map((c) => parseChangeFile(Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
      } catch {
        composed = undefined;
      }
      if (composed === undefined) {
        port.postMessage({ id: m.id, followed: null } satisfies ComposeAnswer);
        return;
      }
      const { state, transfer } = composed.state();
      port.postMessage({ id: m.id, followed: state } satisfies ComposeAnswer, transfer);
      return;
    }
    try {
      // A Buffer arrives as a plain Uint8Array (structured clone): Buffer views again, no copy.
      const asBuffer = (f: RulesetFile): RulesetFile => (typeof f.bytes === 'string' ? f : { path: f.path, bytes: Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength) });
      const text = composeRulesetText(asBuffer(m.base), m.changes.map(asBuffer));
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
