/**
 * What a frame's payload holds.
 *
 * Grammar:   payload = header [ NUL body ]
 *            header  = a UTF-8 JSON object with a "type" field (see messages.ts)
 *            body    = raw bytes; only for types that carry one (`ruleset`), whose header's
 *                      "size" must equal the body's length
 *
 * JSON text never contains a raw NUL byte (it must be escaped inside strings), so the first NUL
 * ends the header unambiguously. Ruleset bytes travel unchanged so the agent can recompute their
 * git blob id; no base64, no re-encoding.
 *
 * Limits: the header is at most MAX_HEADER_BYTES. Whatever the frame limit, a payload whose
 * first NUL (or end) lies beyond it is refused before JSON.parse sees a byte of it: no message
 * needs more, and JSON.parse on megabytes of nested brackets blocks the event loop for seconds.
 *
 * Example: {"type":"ruleset","id":1,...,"size":2} 00 7b 7d
 */
import { NftSyncError } from '../errors.js';
import { SHARED_DEFAULTS } from '../defaults.js';
import { encodeFrame } from './frame-decoder.js';
import { jsonNestsDeeperThan } from '../json/json-depth.js';
import { announcedBodyLength, MESSAGE_TYPES_WITH_BODY, validateMessage, type Message } from './messages.js';

/**
 * Largest message header (the JSON before the NUL) either side accepts. The biggest real one is
 * an error (8 KiB of text) or a ruleset header with 16 proof entries (about 2 KiB).
 */
export const MAX_HEADER_BYTES = SHARED_DEFAULTS.wire.maxHeaderBytes;

export interface DecodedMessage<T extends Message = Message> {
  message: T;
  /** The body, for messages that carry one. */
  body?: Buffer;
}

/** Encode a message (and its body, for types that carry one) as one complete frame. */
export function encodeMessage(message: Message, body?: Uint8Array): Buffer {
  const header = Buffer.from(JSON.stringify(message), 'utf8');
  if (body === undefined) return encodeFrame(header);
  const payload = Buffer.allocUnsafe(header.length + 1 + body.length);
  header.copy(payload, 0);
  payload[header.length] = 0;
  payload.set(body, header.length + 1);
  return encodeFrame(payload);
}

/**
 * Deepest nesting a message header may have. No message nests more than 4 levels (a report's
 * conditions); the check spares the parser 64 KiB of `[[[[…]]]]`.
 */
export const MAX_HEADER_DEPTH = SHARED_DEFAULTS.wire.maxHeaderDepth;

/**
 * Decode one frame's payload into a validated message of one of the `allowed` types.
 * Throws NFTSYNC_ERR_MSG_MALFORMED for an empty payload, a header over MAX_HEADER_BYTES (before
 * parsing it), a header that is not JSON or nests deeper than MAX_HEADER_DEPTH, or a body where
 * none belongs (or none where one must be); NFTSYNC_ERR_MSG_INVALID for bad fields or a size that
 * does not match the body.
 */
export function decodeMessage<T extends Message>(payload: Buffer, allowed: ReadonlySet<string>): DecodedMessage<T> {
  if (payload.length === 0) throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', 'empty frame');
  // Look for the NUL only where a header may end: a body's bytes are never searched or parsed.
  const nul = payload.subarray(0, MAX_HEADER_BYTES + 1).indexOf(0);
  if (nul === -1 ? payload.length > MAX_HEADER_BYTES : nul > MAX_HEADER_BYTES) {
    throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', `message header is longer than ${MAX_HEADER_BYTES} bytes; refused unread`, {
      data: { limit: MAX_HEADER_BYTES, frame: payload.length },
    });
  }
  const headerBytes = nul === -1 ? payload : payload.subarray(0, nul);
  if (jsonNestsDeeperThan(headerBytes, MAX_HEADER_DEPTH)) {
    throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', `message header nests arrays or objects deeper than ${MAX_HEADER_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', 'message header is not valid JSON');
  }
  const message = validateMessage<T>(parsed, allowed);
  const wantsBody = MESSAGE_TYPES_WITH_BODY.has(message.type);
  if (!wantsBody) {
    if (nul !== -1) throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', `${message.type} message carries an unexpected body`);
    return { message };
  }
  if (nul === -1) throw new NftSyncError('NFTSYNC_ERR_MSG_MALFORMED', `${message.type} message has no body`);
  const body = payload.subarray(nul + 1);
  const size = announcedBodyLength(message);
  if (size !== body.length) {
    throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `${message.type} message announces ${size} bytes but carries ${body.length}`);
  }
  return { message, body };
}
