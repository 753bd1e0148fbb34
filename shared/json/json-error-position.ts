/**
 * Where a JSON text goes wrong, for the error messages of files people edit by hand.
 *
 * Node 20's JSON.parse names a position for some errors ("... at position 12") but not for
 * others ("Unexpected token '}', ..."x": }" is not valid JSON"). This scanner walks the text by
 * the JSON grammar (RFC 8259) without building values and returns the offset of the first byte
 * that cannot belong to a valid document. Iterative (an explicit stack), so deep nesting in
 * hostile input cannot overflow the call stack; linear in the text's length.
 */

const WS = new Set([' ', '\t', '\n', '\r']);
const LITERALS = ['true', 'false', 'null'];
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/**
 * The offset of the first error in `text`, or undefined when `text` is valid JSON. At the end
 * of the text (`text.length`) when it stops too early. Pure; never throws.
 */
export function jsonErrorPosition(text: string): number | undefined {
  let i = 0;
  const skip = (): void => {
    while (i < text.length && WS.has(text[i]!)) i++;
  };
  const match = (re: RegExp): boolean => {
    re.lastIndex = i;
    if (!re.test(text)) return false;
    i = re.lastIndex;
    return true;
  };
  // Each stack entry is the container being filled: '{' or '['.
  const stack: string[] = [];
  // 'value': a value is expected; 'after': a value just ended; 'key': an object key is expected.
  let want: 'value' | 'after' | 'key' | 'first-key' | 'first-value' = 'value';
  for (;;) {
    skip();
    const c = text[i];
    if (want === 'value' || want === 'first-value') {
      if (want === 'first-value' && c === ']') {
        i++;
        stack.pop();
        want = 'after';
        continue;
      }
      if (c === '{') {
        stack.push('{');
        i++;
        want = 'first-key';
        continue;
      }
      if (c === '[') {
        stack.push('[');
        i++;
        want = 'first-value';
        continue;
      }
      if (c === '"' ? match(STRING) : c !== undefined && /[-0-9]/.test(c) ? match(NUMBER) : LITERALS.some((l) => text.startsWith(l, i) && ((i += l.length), true))) {
        want = 'after';
        continue;
      }
      return i;
    }
    if (want === 'key' || want === 'first-key') {
      if (want === 'first-key' && c === '}') {
        i++;
        stack.pop();
        want = 'after';
        continue;
      }
      if (c !== '"' || !match(STRING)) return i;
      skip();
      if (text[i] !== ':') return i;
      i++;
      want = 'value';
      continue;
    }
    // after a value
    const top = stack[stack.length - 1];
    if (top === undefined) return i === text.length ? undefined : i;
    if (c === ',') {
      i++;
      want = top === '{' ? 'key' : 'value';
    } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
      i++;
      stack.pop();
    } else return i;
  }
}
