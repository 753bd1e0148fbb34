/**
 * The object at a line of an nft-syntax ruleset, for `nft-sync import`'s messages: nft says
 * `in.nft:14:5-16: Error: …` with a caret line; this names what line 14 is, e.g.
 * `rule 3 of chain inet filter input`, `set inet filter blocked`, `table inet filter`.
 *
 * A small scanner, not nft's grammar: it follows braces (strings and `#` comments skipped),
 * names blocks by their header (`table inet filter {`, `chain input {`, `set blocked {`, …),
 * and counts a chain's statements (split on newlines and `;`, chain properties such as
 * `type … hook …` and `policy` excepted) as its rules. Flat commands (`add rule inet f input …`)
 * are named too. What it does not recognise yields undefined.
 */

const NAMED_BLOCK = /^(chain|set|map|flowtable|counter|quota|limit|ct helper|ct timeout|ct expectation|secmark|synproxy)\s+(\S+)$/;
const FLAT = /^(?:add|insert|create|replace)\s+(rule|chain|set|map|element|table)\s+(?:(ip6?|inet|arp|bridge|netdev)\s+)?(\S+)(?:\s+(\S+))?/;
const CHAIN_PROPERTY = /^(type\s|policy\s|comment\s|devices\s|flags\s|priority\s)/;

interface Block {
  /** `table inet filter`, `chain inet filter input`, or undefined for an anonymous block. */
  name?: string;
  /** For a chain: rules seen so far. */
  rules: number;
  isChain: boolean;
}

/**
 * The object line `line` (1-based) of `text` belongs to, or undefined (a blank line, a
 * `define`, something the scanner does not follow). Pure; never throws.
 */
export function objectAtLine(text: string, line: number): string | undefined {
  const stack: Block[] = [];
  let table: string | undefined;
  let statement = '';
  let statementLine = 1;
  let current = 1;
  let found: string | undefined;
  const flatRules = new Map<string, number>();

  /** The statement just ended at chain level, or a flat command: what is it? */
  const close = (): void => {
    const s = statement.trim();
    statement = '';
    if (s === '') return;
    const top = stack[stack.length - 1];
    let what: string | undefined;
    if (top?.isChain && !CHAIN_PROPERTY.test(s)) what = `rule ${++top.rules} of ${top.name}`;
    else if (top?.name !== undefined) what = top.name;
    else {
      const m = FLAT.exec(s);
      if (m) {
        const where = `${m[2] ?? 'ip'} ${m[3]}`;
        if (m[1] === 'table') what = `table ${where}`;
        else if (m[1] === 'rule') {
          const key = `${where} ${m[4]}`;
          flatRules.set(key, (flatRules.get(key) ?? 0) + 1);
          what = `rule ${flatRules.get(key)} of chain ${key}`;
        } else what = `${m[1] === 'element' ? 'set' : m[1]} ${where} ${m[4]}`;
      }
    }
    if (found === undefined && statementLine <= line && line <= current) found = what;
  };

  for (let i = 0; i < text.length && found === undefined; i++) {
    const c = text[i]!;
    if (c === '#') {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
      continue;
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      const stop = end < 0 ? text.length - 1 : end;
      statement += text.slice(i, stop + 1);
      current += (text.slice(i, stop + 1).match(/\n/g) ?? []).length;
      i = stop;
      continue;
    }
    const anonymous = stack.length > 0 && stack[stack.length - 1]!.name === undefined;
    if (c === '{') {
      const head = statement.trim().replace(/\s+/g, ' ');
      const t = /^table\s+(?:(ip6?|inet|arp|bridge|netdev)\s+)?(\S+)$/.exec(head);
      const named = NAMED_BLOCK.exec(head);
      if (!anonymous && t) {
        table = `${t[1] ?? 'ip'} ${t[2]}`;
        stack.push({ name: `table ${table}`, rules: 0, isChain: false });
        if (statementLine <= line && line <= current && found === undefined) found = `table ${table}`;
        statement = '';
      } else if (!anonymous && named && table !== undefined) {
        stack.push({ name: `${named[1]} ${table} ${named[2]}`, rules: 0, isChain: named[1] === 'chain' });
        if (statementLine <= line && line <= current && found === undefined) found = `${named[1]} ${table} ${named[2]}`;
        statement = '';
      } else {
        stack.push({ rules: 0, isChain: false }); // an anonymous set, `elements = {`, a verdict map
        statement += c;
      }
      continue;
    }
    if (c === '}') {
      if (anonymous) {
        stack.pop();
        statement += c;
        continue;
      }
      close();
      stack.pop();
      if (stack.length === 0) table = undefined;
      continue;
    }
    if ((c === '\n' || c === ';') && !anonymous) {
      close();
      if (c === '\n') current++;
      if (current > line) break; // past the line, between statements: nothing there
      continue;
    }
    if (c === '\n') current++;
    if (statement.trim() === '' && !/\s/.test(c)) statementLine = current;
    statement += c;
  }
  if (found === undefined) close();
  return found;
}
