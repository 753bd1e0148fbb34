/**
 * Ruleset texts padded as the server pads them (shared/ruleset/pad-lines.ts): renderRuleset's
 * text followed by lines of spaces, so that consecutive revisions keep one size.
 */

/** `n` pad bytes as the server writes them: one line of n mod 1024 bytes (when not 0), then lines of 1024 (1023 spaces and `\n`). */
export function serverPad(n: number): string {
  return (n % 1024 ? `${' '.repeat((n % 1024) - 1)}\n` : '') + `${' '.repeat(1023)}\n`.repeat(Math.floor(n / 1024));
}

/** `text` padded to `size` bytes as the server pads it (not at all when it is that long already). */
export function paddedTo(text: string, size: number): Buffer {
  return Buffer.from(text + serverPad(Math.max(0, size - Buffer.byteLength(text))));
}
