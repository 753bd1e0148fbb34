import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NftSyncError } from '../../../../shared/errors.js';
import { encodeFrame, FrameDecoder } from '../../../../shared/wire/frame-decoder.js';
import { expectCode } from '../../../helpers/expect-code.js';

const frame = (s: string) => encodeFrame(Buffer.from(s));

describe('FrameDecoder', () => {
  it('decodes one frame in one chunk', () => {
    const d = new FrameDecoder(1024);
    assert.deepEqual(d.push(frame('hello')).map(String), ['hello']);
    assert.equal(d.pendingBytes, 0);
  });

  it('decodes several frames merged into one chunk', () => {
    const d = new FrameDecoder(1024);
    const chunk = Buffer.concat([frame('a'), frame('bb'), frame(''), frame('ccc')]);
    assert.deepEqual(d.push(chunk).map(String), ['a', 'bb', '', 'ccc']);
  });

  it('decodes a frame split byte by byte, header included', () => {
    const d = new FrameDecoder(1024);
    const bytes = frame('split across reads');
    const out: string[] = [];
    for (const b of bytes) out.push(...d.push(Buffer.from([b])).map(String));
    assert.deepEqual(out, ['split across reads']);
  });

  it('keeps a partial frame until the rest arrives', () => {
    const d = new FrameDecoder(1024);
    const bytes = Buffer.concat([frame('one'), frame('two')]);
    assert.deepEqual(d.push(bytes.subarray(0, 9)).map(String), ['one']);
    assert.equal(d.pendingBytes, 2);
    assert.deepEqual(d.push(bytes.subarray(9)).map(String), ['two']);
  });

  it('accepts an empty chunk and an empty frame', () => {
    const d = new FrameDecoder(16);
    assert.deepEqual(d.push(Buffer.alloc(0)), []);
    assert.deepEqual(d.push(frame('')).map((b) => b.length), [0]);
  });

  it('refuses an oversized frame from its header alone, allocating nothing', () => {
    const d = new FrameDecoder(1024);
    const header = Buffer.from([0xff, 0xff, 0xff, 0xf0]);
    expectCode(() => d.push(header), 'NFTSYNC_ERR_FRAME_TOO_LARGE');
    assert.equal(d.pendingBytes, 0);
    expectCode(() => d.push(frame('x')), 'NFTSYNC_ERR_MSG_MALFORMED');
  });

  it('names the likely mistake when the peer answers with HTTP (a client pointed at the --http port)', () => {
    const d = new FrameDecoder(65536);
    assert.throws(() => d.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')), {
      code: 'NFTSYNC_ERR_FRAME_TOO_LARGE',
      message: /exceeds the limit of 65536 bytes: the peer speaks HTTP; --server takes the wire protocol port \(the server's --listen\), not --http$/,
    });
    assert.throws(() => new FrameDecoder(4).push(frame('12345')), (e: unknown) => e instanceof NftSyncError && !/HTTP/.test(e.message));
  });

  it('accepts a frame of exactly the limit and refuses one byte more', () => {
    const d = new FrameDecoder(4);
    assert.deepEqual(d.push(frame('1234')).map(String), ['1234']);
    assert.throws(() => d.push(frame('12345')), { code: 'NFTSYNC_ERR_FRAME_TOO_LARGE' });
  });

  it('reports a truncated frame at end of stream', () => {
    const d = new FrameDecoder(1024);
    d.push(frame('truncated').subarray(0, 6));
    assert.throws(() => d.end(), { code: 'NFTSYNC_ERR_FRAME_TRUNCATED' });
    const clean = new FrameDecoder(1024);
    clean.push(frame('ok'));
    assert.doesNotThrow(() => clean.end());
  });

  it('raising the limit after the handshake lets bigger frames through', () => {
    const d = new FrameDecoder(8);
    d.setMaxFrame(64);
    assert.equal(d.push(frame('x'.repeat(40)))[0]!.length, 40);
  });

  it('property: any payloads, any split, decode to the same payloads', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => encodeFrame(p)));
          const d = new FrameDecoder(300);
          const out: Buffer[] = [];
          let pos = 0;
          let i = 0;
          while (pos < stream.length) {
            const n = cuts[i++ % cuts.length]!;
            out.push(...d.push(stream.subarray(pos, pos + n)));
            pos += n;
          }
          d.end();
          assert.deepEqual(out.map((b) => Buffer.from(b).toString('hex')), payloads.map((p) => Buffer.from(p).toString('hex')));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: random bytes never crash it, only NftSyncErrors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const d = new FrameDecoder(64);
        try {
          d.push(bytes);
          d.end();
        } catch (e) {
          assert.ok(e instanceof NftSyncError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('FrameDecoder read()', () => {
  it('applies a limit raised between two frames of the same chunk', () => {
    const d = new FrameDecoder(4);
    d.write(Buffer.concat([frame('ab'), frame('longer than four')]));
    assert.equal(String(d.read()), 'ab');
    d.setMaxFrame(64);
    assert.equal(String(d.read()), 'longer than four');
    assert.equal(d.read(), undefined);
  });
});
