/**
 * The lines a child process writes, each with the moment its chunk arrived (performance.now()):
 * what the end-to-end benches time their events by.
 */
import type { Readable } from 'node:stream';

/**
 * Call `onLine(line, at)` for every complete line `stream` gives (UTF-8, without its newline),
 * `at` being when the chunk that completed it arrived; `onChunk` after each chunk's lines.
 */
export function onTimedLines(stream: Readable, onLine: (line: string, at: number) => void, onChunk?: () => void): void {
  let pending = '';
  stream.setEncoding('utf8').on('data', (chunk: string) => {
    const at = performance.now();
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) onLine(line, at);
    onChunk?.();
  });
}
