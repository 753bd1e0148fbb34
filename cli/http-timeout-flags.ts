/** `nft-sync server`'s flags for the HTTP listener's time limits (server/http/http-timeouts.ts). */
import { HTTP_TIMEOUT_DEFAULTS, type HttpTimeouts } from '../server/start-server.js';
import { str } from './command.js';
import type { Flags, ParsedFlags } from './parse-command-line.js';
import { secondsFlag } from './seconds-flag.js';

/** Flag name -> the limit it sets and its help text. */
const KEYS: Record<string, [keyof HttpTimeouts, string]> = {
  'http-headers-timeout': ['headersMs', 'seconds for a request\'s line and headers to arrive'],
  'http-request-timeout': ['requestMs', 'seconds for an API request (headers and body) to arrive whole; git bodies use --http-body-idle-timeout'],
  'http-body-idle-timeout': ['bodyIdleMs', 'seconds a git request body (a push, a fetch) may send nothing before it is dropped; a body still sending is never cut'],
  'http-keep-alive-timeout': ['keepAliveMs', 'seconds an idle kept-alive HTTP connection stays open'],
  'http-idle-timeout': ['idleMs', 'seconds an HTTP connection may move no bytes either way (a client that stops reading) before it is closed'],
};

/** The flags, with the defaults shown in seconds. */
export const HTTP_TIMEOUT_FLAGS: Flags = Object.fromEntries(
  Object.entries(KEYS).map(([flag, [key, description]]) => [flag, { type: 'string', default: String(HTTP_TIMEOUT_DEFAULTS[key] / 1000), description }]),
);

/** The limits the flags give (0.1 s to a day each). Errors: NFTSYNC_ERR_USAGE naming the flag. */
export function httpTimeouts(values: ParsedFlags): HttpTimeouts {
  const out = { ...HTTP_TIMEOUT_DEFAULTS };
  for (const [flag, [key]] of Object.entries(KEYS)) out[key] = secondsFlag(str(values, flag)!, `--${flag}`, 0.1, 86_400);
  return out;
}
