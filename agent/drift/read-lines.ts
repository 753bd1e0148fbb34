/**
 * The lines of a child process's output, for the drift listeners (nft monitor, the netlink
 * listener): what `readline.createInterface(...).on('line')` gave them, without loading
 * readline and its interface, key-press, history and promise modules into every agent for as
 * long as it runs (about half a MB of an idle agent; `npm run bench -- --only rss`).
 *
 * Lines end with `\n` or `\r\n` (what nft and python print); the text is decoded as UTF-8 across
 * chunk boundaries; a last line without its newline is delivered when the stream ends. Unlike
 * readline, a lone `\r` does not end a line.
 */
import type { Readable } from 'node:stream';

/** Call `onLine` with each line of `input` (without its line ending), in order. Never throws. */
export function readLines(input: Readable, onLine: (line: string) => void): void {
  let pending: string[] = [];
  const emit = (tail: string) => {
    pending.push(tail);
    const line = pending.join('');
    pending = [];
    onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  };
  input.setEncoding('utf8');
  input.on('data', (chunk: string) => {
    let start = 0;
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', start)) {
      emit(chunk.slice(start, i));
      start = i + 1;
    }
    // Kept in pieces, joined once the line ends: a long line costs its length, not its square.
    if (start < chunk.length) pending.push(chunk.slice(start));
  });
  input.on('end', () => {
    if (pending.length > 0) emit('');
  });
}
