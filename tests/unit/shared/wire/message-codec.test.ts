import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeFrame, FrameDecoder } from '../../../../shared/wire/frame-decoder.js';
import { decodeMessage, encodeMessage, MAX_HEADER_BYTES } from '../../../../shared/wire/message-codec.js';
import { CLIENT_MAX_FRAME, CLIENT_MESSAGE_TYPES, SERVER_MESSAGE_TYPES, type Message } from '../../../../shared/wire/messages.js';

const C = '0123456789abcdef0123456789abcdef01234567';
const B = 'fedcba9876543210fedcba9876543210fedcba98';

function roundTrip(msg: Message, allowed: ReadonlySet<string>, body?: Buffer) {
  const [payload] = new FrameDecoder(1 << 20).push(encodeMessage(msg, body));
  return decodeMessage(payload!, allowed);
}

describe('message codec', () => {
  const valid: Array<[string, Message, ReadonlySet<string>]> = [
    ['hello', { type: 'hello', versions: [1], agent: 'web-1.example', software: 'nft-sync/0.1' }, CLIENT_MESSAGE_TYPES],
    ['fetch', { type: 'fetch', id: 1, ref: 'main', ruleset: 'default', have: { commit: C, blob: B } }, CLIENT_MESSAGE_TYPES],
    ['subscribe', { type: 'subscribe', id: 2, ref: 'refs/tags/v1.0.0' }, CLIENT_MESSAGE_TYPES],
    ['ping', { type: 'ping', id: 3 }, CLIENT_MESSAGE_TYPES],
    ['report', { type: 'report', id: 4, status: { agent: 'a', ref: 'main', commit: C, blob: B, state: 'Applied', conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] } }, CLIENT_MESSAGE_TYPES],
    ['welcome', { type: 'welcome', version: 1, server: 'nft-sync', maxFrame: 1000, heartbeat: 15000 }, SERVER_MESSAGE_TYPES],
    ['unchanged', { type: 'unchanged', id: 1, ref: 'main', ruleset: 'default', commit: C, blob: B }, SERVER_MESSAGE_TYPES],
    ['moved', { type: 'moved', ref: 'main', commit: C }, SERVER_MESSAGE_TYPES],
    ['error', { type: 'error', id: 1, code: 'NFTSYNC_ERR_REF_NOT_FOUND', message: 'no such ref', retryable: false, fatal: false }, SERVER_MESSAGE_TYPES],
  ];
  for (const [name, msg, allowed] of valid) {
    it(`round-trips ${name}`, () => assert.deepEqual(roundTrip(msg, allowed).message, msg));
  }

  it('round-trips a ruleset with its body byte for byte', () => {
    const body = Buffer.from([0x7b, 0x00, 0xff, 0x7d]);
    const out = roundTrip({ type: 'ruleset', id: 9, ref: 'main', ruleset: 'default', commit: C, blob: B, size: 4 }, SERVER_MESSAGE_TYPES, body);
    assert.deepEqual(out.body, body);
  });

  it('a ruleset with a release proof: size plus the proof sizes must equal the body', () => {
    const proof = [{ type: 'tag' as const, id: C, size: 3 }, { type: 'commit' as const, id: C, size: 2 }];
    const msg = { type: 'ruleset' as const, id: 9, ref: 'v1', ruleset: 'default', commit: C, blob: B, size: 4, proof };
    const out = roundTrip(msg, SERVER_MESSAGE_TYPES, Buffer.from('{..}tagco'));
    assert.deepEqual(out.message, msg);
    assert.equal(out.body!.length, 9);
    assert.throws(() => roundTrip(msg, SERVER_MESSAGE_TYPES, Buffer.from('{..}tag')), { code: 'NFTSYNC_ERR_MSG_INVALID' });
    const badType = { ...msg, proof: [{ type: 'note', id: C, size: 5 }] } as unknown as Message;
    assert.throws(() => roundTrip(badType, SERVER_MESSAGE_TYPES, Buffer.from('{..}tagco')), { code: 'NFTSYNC_ERR_MSG_INVALID' });
    // The nft-sync.yaml blob an agent that named no ruleset gets at the end of the proof.
    const withConfig = { ...msg, proof: [...proof, { type: 'blob' as const, id: C, size: 4 }] };
    assert.deepEqual(roundTrip(withConfig, SERVER_MESSAGE_TYPES, Buffer.from('{..}tagcoyaml')).message, withConfig);
    const fetch: Message = { type: 'fetch', id: 1, ref: 'v1', proof: true };
    assert.deepEqual(roundTrip(fetch, CLIENT_MESSAGE_TYPES).message, fetch);
  });

  const invalid: Array<[string, Buffer, string]> = [
    ['an empty payload', Buffer.alloc(0), 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['text that is not JSON', Buffer.from('GET / HTTP/1.1'), 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['a JSON array', Buffer.from('[1]'), 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['an unknown type', Buffer.from('{"type":"rm -rf"}'), 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['a server message sent by a client', Buffer.from('{"type":"welcome","version":1,"server":"x","maxFrame":1,"heartbeat":1}'), 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['a missing field', Buffer.from('{"type":"fetch","id":1}'), 'NFTSYNC_ERR_MSG_INVALID'],
    ['an extra field', Buffer.from('{"type":"ping","id":1,"x":1}'), 'NFTSYNC_ERR_MSG_INVALID'],
    ['a negative id', Buffer.from('{"type":"ping","id":-1}'), 'NFTSYNC_ERR_MSG_INVALID'],
    ['a hostile ruleset name', Buffer.from('{"type":"fetch","id":1,"ref":"main","ruleset":"../../etc/passwd"}'), 'NFTSYNC_ERR_MSG_INVALID'],
    ['a bad object id', Buffer.from('{"type":"fetch","id":1,"ref":"main","have":{"commit":"zz","blob":"zz"}}'), 'NFTSYNC_ERR_MSG_INVALID'],
    ['a body where none belongs', Buffer.from('{"type":"ping","id":1}\0body'), 'NFTSYNC_ERR_MSG_MALFORMED'],
    ['an agent name with a slash', Buffer.from('{"type":"hello","versions":[1],"agent":"a/b"}'), 'NFTSYNC_ERR_MSG_INVALID'],
  ];
  for (const [name, payload, code] of invalid) {
    it(`refuses ${name} with ${code}`, () => assert.throws(() => decodeMessage(payload, CLIENT_MESSAGE_TYPES), { code }));
  }

  it('refuses a ruleset whose size does not match its body', () => {
    const header = JSON.stringify({ type: 'ruleset', id: 1, ref: 'main', ruleset: 'default', commit: C, blob: B, size: 10 });
    assert.throws(() => decodeMessage(Buffer.from(`${header}\0abc`), SERVER_MESSAGE_TYPES), { code: 'NFTSYNC_ERR_MSG_INVALID' });
    assert.throws(() => decodeMessage(Buffer.from(header), SERVER_MESSAGE_TYPES), { code: 'NFTSYNC_ERR_MSG_MALFORMED' });
  });

  it('bounds the header before parsing it: 64 KiB passes, one byte more is refused, and a body is never searched', () => {
    const header = (len: number) => {
      const base = JSON.stringify({ type: 'ruleset', id: 1, ref: 'main', ruleset: 'default', commit: C, blob: B, size: 2 });
      return Buffer.from(base.slice(0, -1) + ' '.repeat(len - base.length) + '}');
    };
    const at = (len: number) => Buffer.concat([header(len), Buffer.from([0]), Buffer.from('{}')]);
    assert.equal(decodeMessage(at(MAX_HEADER_BYTES), SERVER_MESSAGE_TYPES).body!.toString(), '{}');
    assert.throws(() => decodeMessage(at(MAX_HEADER_BYTES + 1), SERVER_MESSAGE_TYPES), { code: 'NFTSYNC_ERR_MSG_MALFORMED', message: /header is longer than 65536 bytes/ });
    // No NUL at all in megabytes of nested brackets: refused unread (JSON.parse would take them).
    assert.throws(() => decodeMessage(Buffer.alloc(8 * 1024 * 1024, '['), SERVER_MESSAGE_TYPES), { message: /header is longer than 65536 bytes/ });
  });

  describe('nested arrays filling a client frame (64 KiB) get a coded error, never a stack overflow', () => {
    const depth = (CLIENT_MAX_FRAME - 40) / 2;
    const nested = '['.repeat(depth) + ']'.repeat(depth);
    const cases: Array<[string, string, string]> = [
      ['as the message type', `{"type":${nested}}`, 'NFTSYNC_ERR_MSG_MALFORMED'],
      ['as the whole header', nested, 'NFTSYNC_ERR_MSG_MALFORMED'],
      ['unterminated', `{"type":"hello","versions":${'['.repeat(depth * 2)}`, 'NFTSYNC_ERR_MSG_MALFORMED'],
      ['in a field', `{"type":"hello","versions":${nested}}`, 'NFTSYNC_ERR_MSG_MALFORMED'],
      ['in an extra field', `{"type":"ping","id":1,"x":${nested}}`, 'NFTSYNC_ERR_MSG_MALFORMED'],
      ['inside a string (not nesting at all)', `{"type":"hello","versions":[1],"software":"${'['.repeat(200)}"}`, 'NFTSYNC_ERR_MSG_INVALID'],
      ['16 levels deep in a field (parsed, then refused by the schema)', `{"type":"hello","versions":${'['.repeat(15)}${']'.repeat(15)}}`, 'NFTSYNC_ERR_MSG_INVALID'],
    ];
    for (const [name, text, code] of cases) {
      it(name, () => {
        const payload = Buffer.from(text);
        assert.ok(payload.length <= CLIENT_MAX_FRAME);
        assert.throws(() => decodeMessage(payload, CLIENT_MESSAGE_TYPES), (err: Error & { code?: string }) => {
          assert.equal(err.code, code, err.message);
          assert.doesNotMatch(err.message, /call stack/);
          return true;
        });
      });
    }
  });

  it('encodes the frame length big-endian, counting the payload only', () => {
    const f = encodeMessage({ type: 'ping', id: 1 });
    assert.equal(f.readUInt32BE(0), f.length - 4);
    assert.deepEqual(encodeFrame(Buffer.from('ab')), Buffer.from([0, 0, 0, 2, 0x61, 0x62]));
  });
});

describe('publish and published', () => {
  it('a publish carries the live ruleset as its body; published answers with the commit', () => {
    const body = Buffer.from('{"nftables":[]}');
    const m = roundTrip({ type: 'publish', id: 6, ref: 'main', ruleset: 'default', base: C, size: body.length }, CLIENT_MESSAGE_TYPES, body);
    assert.equal(m.message.type, 'publish');
    assert.deepEqual(m.body, body);
    const p = roundTrip({ type: 'published', id: 6, ref: 'main', commit: C, blob: B, rebased: true, unchanged: false }, SERVER_MESSAGE_TYPES);
    assert.equal(p.message.type, 'published');
  });

  it('refuses a publish whose size is not its body\'s, one without a body, and one from the server side', () => {
    const body = Buffer.from('{"nftables":[]}');
    assert.throws(() => roundTrip({ type: 'publish', id: 6, ref: 'main', ruleset: 'default', base: C, size: body.length + 1 }, CLIENT_MESSAGE_TYPES, body), { code: 'NFTSYNC_ERR_MSG_INVALID' });
    assert.throws(() => roundTrip({ type: 'publish', id: 6, ref: 'main', ruleset: 'default', base: C, size: 0 }, CLIENT_MESSAGE_TYPES), { code: 'NFTSYNC_ERR_MSG_MALFORMED' });
    assert.throws(() => roundTrip({ type: 'publish', id: 6, ref: 'main', ruleset: 'default', base: C, size: body.length }, SERVER_MESSAGE_TYPES, body), { code: 'NFTSYNC_ERR_MSG_MALFORMED' });
    assert.throws(() => roundTrip({ type: 'publish', id: 6, ref: 'main', ruleset: '../x', base: C, size: body.length }, CLIENT_MESSAGE_TYPES, body), { code: 'NFTSYNC_ERR_MSG_INVALID' });
  });
});
