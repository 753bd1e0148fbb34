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
  const parts: string[] = [];
  write(value, '', false, parts);
  parts.push('\n');
  return parts.join('');
}

function write(v: unknown, indent: string, elementList: boolean, out: string[]): void {
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push('[]');
      return;
    }
    const inner = `${indent}  `;
    out.push('[');
    v.forEach((x, i) => {
      out.push(i === 0 ? '\n' : ',\n', inner);
      if (elementList) out.push(JSON.stringify(x) ?? 'null');
      else write(x, inner, false, out);
    });
    out.push('\n', indent, ']');
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
      write(x, inner, k === 'elem' && Array.isArray(x), out);
    });
    out.push('\n', indent, '}');
    return;
  }
  out.push(JSON.stringify(v) ?? 'null');
}
