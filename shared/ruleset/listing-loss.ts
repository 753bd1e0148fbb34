/**
 * What a round trip through nft's JSON loses, line by line: the text listing (`nft list
 * ruleset`) of a ruleset as loaded from its nft source, against the text listing of its JSON
 * form loaded into another namespace. nft's text listing is its most complete rendering of the
 * kernel's state; whatever differs between the two is something the JSON form did not carry
 * (nft 1.0.6 drops comments of tables, chains and sets, `flags dynamic` and `dormant`,
 * `auto-merge`, `typeof` (listed back as `type`), sub-second timeouts, element counter values;
 * see NFT-FACTS.md), and `nft-sync import` names every such line.
 *
 * The listings are compared per object (table, chain, set, map, named object), as multisets of
 * lines; set elements are compared one by one. What changes between two listings of the same
 * state is left out: an element's `expires` (time runs between the two).
 */

/** One difference: the object it is in, and the line as loaded from the source / from the JSON. */
export interface ListingLoss {
  /** `table inet filter`, `chain inet filter input`, `set inet filter blocked`. */
  object: string;
  /** The line in the original listing (undefined: the JSON form adds it; EXISTS: the object). */
  original?: string;
  /** What the JSON form lists instead (undefined: lost). */
  reloaded?: string;
}

/** The line that stands for an object's header: lost when the whole object is. */
const EXISTS = '(the object itself)';
const BLOCK = /^(chain|set|map|flowtable|counter|quota|limit|ct helper|ct timeout|ct expectation|secmark|synproxy) (.+) \{$/;

/** Split an `elements = { … }` body on its top-level commas (quotes and braces respected). */
function splitElements(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '{' || c === '[')) depth++;
    else if (!quoted && (c === '}' || c === ']')) depth--;
    else if (!quoted && depth === 0 && c === ',') {
      out.push(body.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(body.slice(start).trim());
  return out.filter((e) => e !== '');
}

/**
 * The lines of `listing` (the text of `nft list ruleset`) grouped by the object they are in, in
 * order: a set's elements one per entry as `element …`, `expires …` left out. Pure; tolerant of
 * what it does not recognise (it stays a line of the enclosing object).
 */
export function listingLines(listing: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (object: string, line: string): void => {
    const list = out.get(object) ?? [];
    list.push(line);
    out.set(object, list);
  };
  const stack: string[] = [];
  let table = '?';
  const lines = listing.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === '') continue;
    let m = /^table (\S+) (.+) \{$/.exec(line);
    if (m) {
      table = `${m[1]} ${m[2]}`;
      stack.push(`table ${table}`);
      add(`table ${table}`, EXISTS);
      continue;
    }
    m = BLOCK.exec(line);
    if (m) {
      const object = `${m[1]} ${table} ${m[2]}`;
      stack.push(object);
      add(object, EXISTS);
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    const object = stack[stack.length - 1] ?? '(top)';
    if (/^elements = \{/.test(line)) {
      // nft wraps long element lists; gather them up to the closing brace.
      while (!/\}\s*$/.test(line) && i + 1 < lines.length) line += ` ${lines[++i]!.trim()}`;
      const body = line.replace(/^elements = \{/, '').replace(/\}\s*$/, '');
      for (const e of splitElements(body)) add(object, `element ${e.replace(/ expires \S+/g, '')}`);
      continue;
    }
    add(object, line);
  }
  return out;
}

/**
 * Objects of a text listing that list an element twice: a listing taken while the kernel was
 * rearranging a set (see listing-consistency.ts), to be taken again. Pure; never throws.
 */
export function tornObjects(listing: string): string[] {
  const out: string[] = [];
  for (const [object, lines] of listingLines(listing)) {
    const elements = lines.filter((l) => l.startsWith('element '));
    if (new Set(elements).size !== elements.length) out.push(object);
  }
  return out;
}

/**
 * Every line that differs between `original` and `reloaded` (two `nft list ruleset` texts), per
 * object, in the original's order: a line lost and a line gained in the same object are paired
 * in order (`typeof ip saddr` comes back as `type ipv4_addr`); the rest is lost or added. Empty
 * when the listings agree. Pure; never throws.
 */
export function listingLosses(original: string, reloaded: string): ListingLoss[] {
  const a = listingLines(original);
  const b = listingLines(reloaded);
  const out: ListingLoss[] = [];
  for (const object of new Set([...a.keys(), ...b.keys()])) {
    const lost = minus(a.get(object) ?? [], b.get(object) ?? []);
    const gained = minus(b.get(object) ?? [], a.get(object) ?? []);
    // An object one side lacks entirely is one difference, not one per line.
    if (lost.includes(EXISTS)) {
      out.push({ object, original: EXISTS });
      continue;
    }
    if (gained.includes(EXISTS)) {
      out.push({ object, reloaded: EXISTS });
      continue;
    }
    const n = Math.max(lost.length, gained.length);
    for (let i = 0; i < n; i++) out.push({ object, original: lost[i], reloaded: gained[i] });
  }
  return out;
}

/** `xs` without one occurrence of each of `ys` (a multiset difference), in `xs` order. */
function minus(xs: readonly string[], ys: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const y of ys) counts.set(y, (counts.get(y) ?? 0) + 1);
  return xs.filter((x) => {
    const n = counts.get(x) ?? 0;
    if (n === 0) return true;
    counts.set(x, n - 1);
    return false;
  });
}

/** `set inet t dyn: "typeof ip saddr" comes back as "type ipv4_addr"`, `… is lost`, `… appears`. */
export function describeLoss(loss: ListingLoss): string {
  if (loss.original === EXISTS) return `${loss.object}: the whole object is lost`;
  if (loss.reloaded === EXISTS) return `${loss.object}: appears, though the original does not have it`;
  if (loss.reloaded === undefined) return `${loss.object}: ${JSON.stringify(loss.original)} is lost`;
  if (loss.original === undefined) return `${loss.object}: ${JSON.stringify(loss.reloaded)} appears`;
  return `${loss.object}: ${JSON.stringify(loss.original)} comes back as ${JSON.stringify(loss.reloaded)}`;
}
