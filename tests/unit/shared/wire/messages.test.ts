import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  CLIENT_MESSAGE_TYPES,
  SERVER_MESSAGE_TYPES,
  validateMessage,
  type HelloMessage,
  type Message,
} from '../../../../shared/wire/messages.js';

/** The JSON values of docs/protocol.md's ```json blocks (a value may span lines). */
function protocolExamples(): unknown[] {
  const doc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8');
  const out: unknown[] = [];
  for (const block of doc.matchAll(/```json\n([\s\S]*?)```/g)) {
    let pending = '';
    for (const line of block[1]!.split('\n')) {
      pending += line;
      // Ids are abbreviated in the docs (`3f1c…`): a full one has 40 hex digits.
      const text = pending.replace(/"([0-9a-f]{4})…"/g, (_m, p: string) => JSON.stringify(p.padEnd(40, '0')));
      try {
        out.push(JSON.parse(text));
        pending = '';
      } catch {
        // not complete yet
      }
    }
    assert.equal(pending.trim(), '', `unparsed example in docs/protocol.md: ${pending}`);
  }
  return out;
}

describe('messages: one TypeBox schema per message', () => {
  it('every example in docs/protocol.md validates against its schema, and every message type has one', () => {
    const all = new Set([...CLIENT_MESSAGE_TYPES, ...SERVER_MESSAGE_TYPES]);
    const seen = new Set<string>();
    for (const example of protocolExamples()) {
      if ((example as { type?: unknown }).type === undefined) continue; // not a message (a status document)
      const m = validateMessage<Message>(example, all);
      seen.add(m.type);
    }
    assert.deepEqual([...seen].sort(), [...all].sort());
  });

  it('the derived types follow the schemas (optional fields are optional; a typo is a compile error)', () => {
    const hello: HelloMessage = { type: 'hello', versions: [1] };
    // @ts-expect-error `agnet` is not a field of hello: the type is derived from the closed schema.
    const typo: HelloMessage = { type: 'hello', versions: [1], agnet: 'x' };
    assert.equal(validateMessage<HelloMessage>(hello, CLIENT_MESSAGE_TYPES).type, 'hello');
    assert.throws(() => validateMessage(typo, CLIENT_MESSAGE_TYPES), { code: 'NFTSYNC_ERR_MSG_INVALID', message: 'hello message: (message) must NOT have additional properties (agnet)' });
  });

  it('a report whose ref or tag carries control characters is refused (they reached the operator\'s terminal through nft-sync status: ESC sequences retitle, clear or recolour it)', () => {
    const status = { agent: 'web-1', ref: 'main', state: 'Applied', conditions: [] };
    assert.equal(validateMessage({ type: 'report', id: 1, status }, CLIENT_MESSAGE_TYPES).type, 'report');
    for (const bad of ['\u001b]0;owned\u0007', 'main\u001b[2J', 'a\u0000b', 'a\nb', 'a\u009bc', 'a\u007fb']) {
      assert.throws(() => validateMessage({ type: 'report', id: 1, status: { ...status, ref: bad } }, CLIENT_MESSAGE_TYPES), { code: 'NFTSYNC_ERR_MSG_INVALID' }, JSON.stringify(bad));
      assert.throws(() => validateMessage({ type: 'report', id: 1, status: { ...status, tag: bad } }, CLIENT_MESSAGE_TYPES), { code: 'NFTSYNC_ERR_MSG_INVALID' }, JSON.stringify(bad));
    }
  });

  it('an unknown field is named clipped: the error the server sends back fits the error message\'s own schema (a 60,000-character key came back whole)', () => {
    const key = 'k'.repeat(60_000);
    try {
      validateMessage({ type: 'ping', id: 1, [key]: 1 }, CLIENT_MESSAGE_TYPES);
      assert.fail('accepted');
    } catch (err) {
      const e = err as { code: string; message: string; retryable: boolean };
      assert.equal(e.code, 'NFTSYNC_ERR_MSG_INVALID');
      assert.match(e.message, /additional properties \(k+…\)$/);
      assert.equal(validateMessage({ type: 'error', code: e.code, message: e.message, retryable: false, fatal: true }, SERVER_MESSAGE_TYPES).type, 'error');
    }
  });
});
