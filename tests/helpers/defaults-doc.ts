/**
 * Reading docs/defaults.md (and the other docs that quote a default) back into values, so a test
 * compares them with the defaults modules. Units by key: `…Ms` (or under a `…Ms` group) is a
 * time in ms, `…S` a time in seconds, `…Days` days, `…Bytes`, `…Frame`, `…Buffer` and
 * `bytesPerSecond` sizes; anything else a count or a word.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { flattenDefaults, type DefaultLeaf, type DefaultsTable } from '../../shared/check-defaults.js';

const root = new URL('../../', import.meta.url);
const TIME: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** A value reduced to one unit per kind, so `5 s` and 5000 (a `…Ms` key) compare equal. */
export type Canonical = { kind: 'time' | 'size' | 'count'; n: number } | { kind: 'word'; s: string } | { kind: 'list'; items: Canonical[] };

/** The canonical form of a module's leaf at `path`. */
export function canonicalLeaf(path: string, v: DefaultLeaf): Canonical {
  if (Array.isArray(v)) return { kind: 'list', items: v.map((x) => canonicalLeaf(path, x)) };
  if (typeof v === 'string' || typeof v === 'boolean') return { kind: 'word', s: String(v) };
  const n = v as number;
  if (/Ms($|\.)/.test(path)) return { kind: 'time', n };
  if (/S$/.test(path)) return { kind: 'time', n: n * 1000 };
  if (/Days$/.test(path)) return { kind: 'time', n: n * TIME.d! };
  if (/(Bytes|Frame|Buffer|bytesPerSecond)$/.test(path)) return { kind: 'size', n };
  return { kind: 'count', n };
}

/** The canonical form of a table cell (`10 s`, `64 KiB`, `10,000`, `` `nft` ``, `100 ms / 2 s`); throws on anything else. */
export function canonicalCell(cell: string): Canonical {
  const c = cell.trim();
  const word = /^`([^`]+)`$/.exec(c);
  if (word) return { kind: 'word', s: word[1]! };
  if (c.includes(' / ')) return { kind: 'list', items: c.split(' / ').map(canonicalCell) };
  const m = /^(\d[\d,]*)(?: (ms|s|min|h|d|B|KiB|MiB|GiB))?$/.exec(c);
  if (!m) throw new Error(`cannot read the default ${JSON.stringify(cell)} (a number with a unit, a \`word\` or a list joined by " / ")`);
  const n = Number(m[1]!.replace(/,/g, ''));
  const unit = m[2];
  if (unit === undefined) return { kind: 'count', n };
  if (unit in TIME) return { kind: 'time', n: n * TIME[unit]! };
  return { kind: 'size', n: n * SIZE[unit]! };
}

/** How docs/defaults.md writes a module's leaf (the table's own format). */
export function renderLeaf(path: string, v: DefaultLeaf): string {
  const c = canonicalLeaf(path, v);
  const render = (x: Canonical): string => {
    if (x.kind === 'word') return x.s;
    if (x.kind === 'list') return x.items.map(render).join(' / ');
    const fmt = (n: number): string => n.toLocaleString('en-US');
    if (x.kind === 'time') {
      for (const [u, f] of [['d', TIME.d!], ['h', TIME.h!], ['min', TIME.min!], ['s', 1000]] as const) if (x.n !== 0 && x.n % f === 0) return `${fmt(x.n / f)} ${u}`;
      return `${fmt(x.n)} ms`;
    }
    if (x.kind === 'size') {
      for (const [u, f] of [['GiB', SIZE.GiB!], ['MiB', SIZE.MiB!], ['KiB', SIZE.KiB!]] as const) if (x.n % f === 0) return `${fmt(x.n / f)} ${u}`;
      return `${fmt(x.n)} B`;
    }
    return fmt(x.n);
  };
  return render(c);
}

export interface DocRow {
  key: string;
  value: string;
  /** `--flag` that overrides it, if any. */
  flag: string | undefined;
}

/** The rows of docs/defaults.md's section for `moduleFile` (e.g. `server/defaults.ts`), by key. */
export function documentedDefaults(moduleFile: string): Map<string, DocRow> {
  const doc = readFileSync(new URL('docs/defaults.md', root), 'utf8');
  const sections = doc.split(/^## /m).slice(1);
  const section = sections.find((s) => s.split('\n')[0]!.includes(`(\`${moduleFile}\`)`));
  if (section === undefined) throw new Error(`docs/defaults.md has no section for ${moduleFile}`);
  const rows = new Map<string, DocRow>();
  for (const line of section.split('\n')) {
    const m = /^\| `([\w.]+)` \| (.*?) \| (?:`(--[a-z-]+)`)? *\| .*\|$/.exec(line);
    if (!m) continue;
    if (rows.has(m[1]!)) throw new Error(`docs/defaults.md lists ${moduleFile} ${m[1]} twice`);
    rows.set(m[1]!, { key: m[1]!, value: m[2]!, flag: m[3] });
  }
  return rows;
}

/**
 * Every difference between a module's table and its docs/defaults.md section, one line each:
 * a key missing from the docs, a documented key the module lacks, a value that differs.
 */
export function defaultsDocDifferences(moduleFile: string, table: DefaultsTable): string[] {
  const doc = documentedDefaults(moduleFile);
  const leaves = flattenDefaults(table);
  const out: string[] = [];
  for (const [path, v] of leaves) {
    const row = doc.get(path);
    if (row === undefined) out.push(`${path}: missing from docs/defaults.md (add a row: ${renderLeaf(path, v)})`);
    else if (JSON.stringify(canonicalCell(row.value)) !== JSON.stringify(canonicalLeaf(path, v))) out.push(`${path}: docs say ${row.value}, ${moduleFile} has ${renderLeaf(path, v)}`);
  }
  for (const key of doc.keys()) if (!leaves.has(key)) out.push(`${key}: in docs/defaults.md but not in ${moduleFile}`);
  return out;
}

/** README.md and every docs/*.md, by name. */
export function docTexts(): Map<string, string> {
  const out = new Map<string, string>([['README.md', readFileSync(new URL('README.md', root), 'utf8')]]);
  for (const f of readdirSync(new URL('docs/', root))) if (f.endsWith('.md')) out.set(`docs/${f}`, readFileSync(new URL(`docs/${f}`, root), 'utf8'));
  return out;
}
