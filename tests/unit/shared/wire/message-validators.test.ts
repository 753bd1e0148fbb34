/**
 * message-validators.ts is generated at build time from MESSAGE_SCHEMAS (scripts/generate-validators.ts):
 * it must be what the schemas compile to now, hold a check for every message type, and decide and
 * report exactly as ajv compiling each schema at run time (what validateMessage did before) does.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { generatedValidators } from '../../../../scripts/generate-validators.js';
import { MESSAGE_SCHEMAS } from '../../../../shared/wire/message-schemas.js';
import { CLIENT_MESSAGE_TYPE_LIST, MESSAGE_VALIDATORS, SERVER_MESSAGE_TYPE_LIST } from '../../../../shared/wire/message-validators.js';

const PATH = 'shared/wire/message-validators.ts';
const id = 'c'.repeat(40);

test('message-validators.ts is what the build generates from MESSAGE_SCHEMAS now (run npm run build when this fails)', () => {
  const now = generatedValidators().find((f) => f.path === PATH);
  assert.ok(now, `the generator writes ${PATH}`);
  assert.equal(readFileSync(new URL(`../../../../${PATH}`, import.meta.url), 'utf8'), now.text);
});

test('one check per message type, and the type lists are the schemas\' (agent to server, then server to agent)', () => {
  assert.deepEqual([...MESSAGE_VALIDATORS.keys()].sort(), [...MESSAGE_SCHEMAS.keys()].sort());
  assert.deepEqual([...CLIENT_MESSAGE_TYPE_LIST, ...SERVER_MESSAGE_TYPE_LIST].sort(), [...MESSAGE_SCHEMAS.keys()].sort());
});

test('each check accepts and refuses what ajv compiling its schema at run time does, with the same first error', () => {
  const ajv = new Ajv({ allErrors: false, strict: true });
  const status = { agent: 'web-1', ref: 'main', state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] };
  const good: Record<string, Record<string, unknown>> = {
    hello: { versions: [1], agent: 'web-1', software: '\u{1F525}'.repeat(128), token: 't' }, // 128 code points fit maxLength 128
    fetch: { id: 1, ref: 'main', ruleset: 'default', have: { commit: id, blob: id }, proof: true, delta: true },
    subscribe: { id: 2, ref: 'main', ahead: true },
    report: { id: 3, status },
    ping: { id: 4 },
    publish: { id: 5, ref: 'main', ruleset: 'default', base: id, size: 10 },
    welcome: { version: 1, server: 'nft-sync', maxFrame: 65536, heartbeat: 15000 },
    ruleset: { id: 1, ref: 'main', ruleset: 'default', commit: id, blob: id, size: 3, delta: { base: id, size: 4 }, proof: [{ type: 'commit', id, size: 1 }] },
    unchanged: { id: 1, ref: 'main', ruleset: 'default', commit: id, blob: id },
    subscribed: { id: 2, ref: 'main', commit: id },
    moved: { ref: 'main', commit: id },
    ahead: { ref: 'refs/heads/main', ruleset: 'default', commit: id, base: id, size: 3, target: 4 },
    ack: { id: 3 },
    pong: { id: 4 },
    published: { id: 5, ref: 'main', commit: id, blob: id, rebased: false, unchanged: false },
    error: { id: 1, code: 'NFTSYNC_ERR_REF_NOT_FOUND', message: 'no', retryable: false, fatal: false },
  };
  for (const [type, schema] of MESSAGE_SCHEMAS) {
    const live = ajv.compile(schema);
    const check = MESSAGE_VALIDATORS.get(type)!;
    const ok = { type, ...good[type] };
    const samples: unknown[] = [ok, { type }, { ...ok, extra: 1 }, { ...ok, type: 'other' }, { ...ok, id: -1 }, { ...ok, id: 2 ** 32 }, { ...ok, ref: '' }, { ...ok, ref: 'm\u001b[2J' }, { ...ok, commit: 'x' }, { ...ok, software: '\u{1F525}'.repeat(129) }, { ...ok, status: { ...status, state: 'Fine' } }, { ...ok, status: { ...status, conditions: [{ type: 'ready', status: 'True', reason: 'Applied' }] } }, { ...ok, proof: new Array(17).fill({ type: 'blob', id, size: 1 }) }, { ...ok, code: 'EOOPS' }];
    for (const [i, v] of samples.entries()) {
      assert.equal(check(v), live(v), `${type} sample ${i}`);
      assert.deepEqual(check.errors ?? null, live.errors ?? null, `${type} sample ${i}`);
    }
    assert.equal(check(ok), true, `${type}: the good sample is good`);
  }
});
