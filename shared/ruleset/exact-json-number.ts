/**
 * Whether a JSON number survives the trip through JavaScript unchanged.
 *
 * Every side of nft-sync reads a ruleset with JSON.parse (an IEEE double per number) and hands
 * it to nft with JSON.stringify. Above 2^53 not every integer has a double, and JSON.stringify
 * prints the shortest digits that read back as the same double, so `9007199254740993` reaches
 * nft as `9007199254740992`, and even `1152921504606846976` (2^60, a double exactly) reaches it
 * as `1152921504606847000`. A quota or byte counter would change without a word.
 *
 * The rule is the invariant itself: a number token is exact when the decimal value JSON.stringify
 * writes for JSON.parse(token) equals the decimal value of the token. Such a number is applied
 * exactly as written (`1152921504606847000` passes; the host gets that value); any other is
 * refused with its JSON pointer, before anything reaches nft. Carrying the digits verbatim
 * instead would need a JSON parser and printer of our own on every path (push, API, import,
 * agent, read-back) for a case a unit (`mbytes`) or a nearby exact value avoids.
 */

/** Sign, significant digits without leading or trailing zeros, and the power of ten after them. */
interface Decimal {
  negative: boolean;
  digits: string;
  exponent: number;
}

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** The exact decimal value of a JSON number token; undefined when `token` is not one. */
function decimalOf(token: string): Decimal | undefined {
  const m = NUMBER.exec(token);
  if (!m) return undefined;
  const frac = m[3] ?? '';
  const all = m[2]! + frac;
  // Loops, not /0+$/: a regex anchored at the end backtracks quadratically on long zero runs.
  let start = 0;
  while (start < all.length && all.charCodeAt(start) === 0x30) start++;
  let end = all.length;
  while (end > start && all.charCodeAt(end - 1) === 0x30) end--;
  if (start === end) return { negative: false, digits: '', exponent: 0 }; // zero, whatever its sign
  const exponent = Number(m[4] ?? '0') - frac.length + (all.length - end);
  return { negative: m[1] === '-', digits: all.slice(start, end), exponent };
}

/**
 * True when JSON.stringify(JSON.parse(token)) has the same decimal value as `token` (so the
 * number reaches nft as written). Tokens of at most 15 significant digits without an exponent
 * always do (a double carries 15 decimal digits), which is the fast path for nearly every
 * number of a ruleset. A token that is not a JSON number is left to JSON.parse: true. Pure;
 * never throws.
 */
export function isExactJsonNumber(token: string): boolean {
  if (token.length <= 16) {
    let digits = 0;
    let plain = true;
    for (let i = 0; i < token.length; i++) {
      const c = token.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) digits++;
      else if (c === 0x65 || c === 0x45) plain = false; // e, E
    }
    if (plain && digits <= 15) return true;
  }
  const written = decimalOf(token);
  if (written === undefined) return true;
  const value = Number(token);
  if (!Number.isFinite(value)) return false;
  const printed = decimalOf(JSON.stringify(value));
  return printed !== undefined && printed.negative === written.negative && printed.digits === written.digits && printed.exponent === written.exponent;
}

/** What the host would get for `token` (JSON.stringify of its double), for error messages. */
export function printedJsonNumber(token: string): string {
  const value = Number(token);
  return Number.isFinite(value) ? JSON.stringify(value) : 'null (out of range)';
}
