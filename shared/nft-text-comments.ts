/**
 * Object comments in nft's text listing. nft 1.0.6's JSON output leaves out the comments of
 * tables, chains and sets that its text output shows, so `nft-sync import` reads them from the
 * text listing to tell the operator what the JSON form loses.
 */

/** A table, chain, set or map comment found in a text listing. */
export interface ObjectComment {
  /** `table inet filter`, `chain inet filter input`, `set inet filter blocked`. */
  object: string;
  comment: string;
}

/**
 * The object comments in `listing` (the text of `nft list ruleset`): a `comment "..."` line on
 * its own inside a table, chain, set or map block (rule comments end a rule line instead).
 * Pure; tolerant of anything it does not recognise.
 */
export function objectCommentsInListing(listing: string): ObjectComment[] {
  const out: ObjectComment[] = [];
  let table: string | undefined;
  const stack: string[] = [];
  for (const raw of listing.split('\n')) {
    const line = raw.trim();
    let m = /^table (\S+) (\S+) \{$/.exec(line);
    if (m) {
      table = `${m[1]} ${m[2]}`;
      stack.push(`table ${table}`);
      continue;
    }
    m = /^(chain|set|map|flowtable|counter|quota|limit|ct helper|ct timeout|ct expectation|secmark|synproxy) (\S+) \{$/.exec(line);
    if (m) {
      stack.push(`${m[1]} ${table ?? '?'} ${m[2]}`);
      continue;
    }
    if (line.endsWith('{')) {
      stack.push('?');
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    m = /^comment "(.*)"$/.exec(line);
    const top = stack[stack.length - 1];
    if (m && top !== undefined && top !== '?') out.push({ object: top, comment: m[1]! });
  }
  return out;
}
