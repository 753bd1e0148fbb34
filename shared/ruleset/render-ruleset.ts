/**
 * The text of a ruleset file as the element API writes it: JSON indented by two spaces, like
 * `JSON.stringify(ruleset, null, 2)`, except that each element of an `elem` array takes one line
 * of its own. Pure.
 *
 * Why: `git log -p` of a set changed through the API then shows one `+` or `-` line per element
 * added or removed, with the commit's author; a map element (`[key, value]`) or a timeout
 * element pretty-printed over four to eight lines would make that diff unreadable, and a whole
 * set on one line (as `nft -j list` writes it) would make every change a one-line diff of the
 * whole set.
 */

/** Render `value` (a parsed ruleset file) as above, ending in a newline. Never throws on JSON data. */
export function renderRuleset(value: unknown): string {
  return renderRulesetLines(value).text;
}

/** Where renderRuleset put one non-empty `elem` array: one element a line. */
export interface RenderedElemList {
  /** The object whose `elem` it is (a set's or map's body, an `element` item's body, ...). */
  parent: object;
  /** Line (0-based) of its first element; element k is on line `first + k`. */
  first: number;
  count: number;
  /** What precedes each element on its line (the element is followed by `,` except the last). */
  indent: string;
}

/**
 * renderRuleset, and where each non-empty `elem` array's element lines are in the text (for
 * telling which elements a line edit of the text touches: shared/ruleset/element-hint.ts). Pure.
 */
export function renderRulesetLines(value: unknown): { text: string; lines: number; elemLists: RenderedElemList[] } {
  const ctx: Ctx = { out: [], newlines: 0, elemLists: [] };
  write(value, '', undefined, ctx);
  ctx.out.push('\n');
  return { text: ctx.out.join(''), lines: ctx.newlines + 2, elemLists: ctx.elemLists };
}

interface Ctx {
  out: string[];
  /** `\n` written so far: the current line's index. */
  newlines: number;
  elemLists: RenderedElemList[];
}

/** `elemOf`: the object whose `elem` array `v` is (its elements then go one a line). */
function write(v: unknown, indent: string, elemOf: object | undefined, ctx: Ctx): void {
  const { out } = ctx;
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push('[]');
      return;
    }
    const inner = `${indent}  `;
    out.push('[');
    if (elemOf !== undefined) ctx.elemLists.push({ parent: elemOf, first: ctx.newlines + 1, count: v.length, indent: inner });
    v.forEach((x, i) => {
      out.push(i === 0 ? '\n' : ',\n', inner);
      ctx.newlines++;
      if (elemOf !== undefined) out.push(JSON.stringify(x) ?? 'null');
      else write(x, inner, undefined, ctx);
    });
    out.push('\n', indent, ']');
    ctx.newlines++;
    return;
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
    if (keys.length === 0) {
      out.push('{}');
      return;
    }
    const inner = `${indent}  `;
    out.push('{');
    keys.forEach((k, i) => {
      const x = (v as Record<string, unknown>)[k];
      out.push(i === 0 ? '\n' : ',\n', inner, JSON.stringify(k), ': ');
      ctx.newlines++;
      write(x, inner, k === 'elem' && Array.isArray(x) ? v : undefined, ctx);
    });
    out.push('\n', indent, '}');
    ctx.newlines++;
    return;
  }
  out.push(JSON.stringify(v) ?? 'null');
}
