/**
 * Reading a CGI program's response head (RFC 3875 section 6): header lines up to the first
 * empty line, `Status: 200 OK` giving the HTTP status. Used for `git http-backend`, whose stdout
 * is streamed to the client once its head has been read.
 */
import { SERVER_DEFAULTS } from '../defaults.js';

/** The head of a CGI response. */
export interface CgiHead {
  status: number;
  headers: Array<[string, string]>;
  /** Bytes after the head: the start of the body. */
  rest: Buffer;
}

/** Largest head accepted: http-backend writes a few short lines. */
export const CGI_HEAD_MAX = SERVER_DEFAULTS.http.cgiHeadMaxBytes;

/**
 * Find the end of the head in `buf` (LF LF or CRLF CRLF); undefined when not there yet.
 * Throws Error when `buf` outgrows CGI_HEAD_MAX without one.
 */
export function parseCgiHead(buf: Buffer): CgiHead | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  let end: number;
  let sep: number;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) [end, sep] = [crlf, 4];
  else if (lf >= 0) [end, sep] = [lf, 2];
  else {
    if (buf.length > CGI_HEAD_MAX) throw new Error(`CGI response head larger than ${CGI_HEAD_MAX} bytes`);
    return undefined;
  }
  let status = 200;
  const headers: Array<[string, string]> = [];
  for (const line of buf.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const n = Number.parseInt(value, 10);
      if (n >= 100 && n <= 599) status = n;
    } else headers.push([name, value]);
  }
  return { status, headers, rest: buf.subarray(end + sep) };
}
