import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMessage } from '../../../../shared/wire/message-codec.js';
import { MessageReader } from '../../../../shared/wire/message-reader.js';
import { CLIENT_MESSAGE_TYPES, type ClientMessage } from '../../../../shared/wire/messages.js';
import { expectCode } from '../../../helpers/expect-code.js';

const hello = encodeMessage({ type: 'hello', versions: [1], agent: 'a' });
const ping = encodeMessage({ type: 'ping', id: 1 });

test('MessageReader: messages come out whole however the bytes are cut, in order', () => {
  const r = new MessageReader<ClientMessage>(CLIENT_MESSAGE_TYPES, 4096);
  const bytes = Buffer.concat([hello, ping]);
  const got: string[] = [];
  for (let i = 0; i < bytes.length; i++) for (const m of r.push(bytes.subarray(i, i + 1))) got.push(m.message.type);
  assert.deepEqual(got, ['hello', 'ping']);
  assert.equal(r.pendingBytes, 0);
  r.end();
});

test('MessageReader: a frame over the limit, a type not allowed (MSG_MALFORMED), or an end mid-frame is refused with its code', () => {
  expectCode(() => new MessageReader(CLIENT_MESSAGE_TYPES, 8).push(hello), 'NFTSYNC_ERR_FRAME_TOO_LARGE');
  assert.match(expectCode(() => new MessageReader(new Set(['ping']), 4096).push(hello), 'NFTSYNC_ERR_MSG_MALFORMED').message, /unexpected message type "hello"/);
  const cut = new MessageReader(CLIENT_MESSAGE_TYPES, 4096);
  cut.write(hello.subarray(0, 5));
  assert.equal(cut.read(), undefined);
  assert.equal(cut.pendingBytes, 5);
  expectCode(() => cut.end(), 'NFTSYNC_ERR_FRAME_TRUNCATED');
});

test('MessageReader: setMaxFrame raises the limit after the handshake', () => {
  const r = new MessageReader<ClientMessage>(CLIENT_MESSAGE_TYPES, 8);
  r.setMaxFrame(4096);
  assert.equal(r.push(hello)[0]!.message.type, 'hello');
});
