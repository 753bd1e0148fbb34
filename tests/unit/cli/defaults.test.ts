/**
 * cli/defaults.ts against docs/defaults.md, and every flag default the docs or `--help` show
 * against the defaults modules: the Flag column of docs/defaults.md, each command's flag specs
 * (what `--help` prints), every "`--flag` … (default N)" in README.md and docs/*.md, and every
 * docs table row that names a default (`side key`).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AGENT_DEFAULTS_TABLE } from '../../../agent/defaults.js';
import type { Command } from '../../../cli/command.js';
import { CLI_DEFAULTS, CLI_DEFAULTS_TABLE } from '../../../cli/defaults.js';
import { helpText, type Flags } from '../../../cli/parse-command-line.js';
import { flattenDefaults, type DefaultLeaf, type DefaultsTable } from '../../../shared/check-defaults.js';
import { SHARED_DEFAULTS_TABLE } from '../../../shared/defaults.js';
import { SERVER_DEFAULTS_TABLE } from '../../../server/defaults.js';
import { HOST_DEFAULTS_TABLE } from '../../../host/defaults.js';
import { canonicalCell, canonicalLeaf, defaultsDocDifferences, docTexts, documentedDefaults, renderLeaf } from '../../helpers/defaults-doc.js';

const MODULES: Record<string, [string, DefaultsTable]> = {
  shared: ['shared/defaults.ts', SHARED_DEFAULTS_TABLE],
  server: ['server/defaults.ts', SERVER_DEFAULTS_TABLE],
  host: ['host/defaults.ts', HOST_DEFAULTS_TABLE],
  agent: ['agent/defaults.ts', AGENT_DEFAULTS_TABLE],
  cli: ['cli/defaults.ts', CLI_DEFAULTS_TABLE],
};

async function commands(): Promise<Command[]> {
  const names = readdirSync(new URL('../../../cli/commands/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  return Promise.all(names.map(async (n) => Object.values(await import(`../../../cli/commands/${n}.js`)).find((v): v is Command => typeof v === 'object' && v !== null && 'flags' in v)!));
}

/** A leaf as a flag writes it: times in seconds, the rest as is. */
function asFlag(path: string, v: DefaultLeaf): string {
  const c = canonicalLeaf(path, v);
  return c.kind === 'time' ? String(c.n / 1000) : String(v);
}

describe('cli/defaults.ts', () => {
  it('docs/defaults.md lists every command-line default with its value, and nothing else', () => {
    assert.deepEqual(defaultsDocDifferences('cli/defaults.ts', CLI_DEFAULTS_TABLE), []);
  });
  it('is frozen', () => {
    assert.ok(Object.isFrozen(CLI_DEFAULTS));
    assert.throws(() => ((CLI_DEFAULTS as { stateDir: string }).stateDir = '/tmp'), TypeError);
  });
});

describe('flag defaults', () => {
  it('every flag in the Flag column of docs/defaults.md shows the module value in each command that has it (--help)', async () => {
    const all = await commands();
    const wrong: string[] = [];
    for (const [file, table] of Object.values(MODULES)) {
      const leaves = flattenDefaults(table);
      for (const row of documentedDefaults(file).values()) {
        if (row.flag === undefined) continue;
        const name = row.flag.slice(2);
        const having = all.filter((c) => Object.hasOwn(c.flags, name));
        if (having.length === 0) wrong.push(`${row.flag}: no command has it`);
        const want = asFlag(row.key, leaves.get(row.key)!);
        for (const c of having) {
          const spec = (c.flags as Flags)[name]!;
          const shown = spec.valueIfBare ?? spec.default;
          if (String(shown) !== want) wrong.push(`${c.name} ${row.flag}: default ${String(shown)}, ${file} ${row.key} is ${want}`);
          const help = helpText(c.name, c.summary, c.flags);
          if (spec.default !== undefined && !help.includes(`(default: ${want})`)) wrong.push(`${c.name} --help does not show ${row.flag}'s default ${want}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });
  it('every "`--flag` … (default N)" in README.md and docs/*.md is the flag\'s default', async () => {
    const all = await commands();
    const defaultOf = new Map<string, string>();
    for (const c of all) for (const [name, spec] of Object.entries(c.flags as Flags)) {
      const v = spec.valueIfBare ?? spec.default;
      if (typeof v === 'string') defaultOf.set(name, v);
    }
    const wrong: string[] = [];
    let seen = 0;
    for (const [file, text] of docTexts()) {
      for (const m of text.replace(/\s+/g, ' ').matchAll(/`--([a-z-]+)(?: [A-Z_]+)?`[^.;()`]{0,20}\(default ([\d,]+)(?: (KiB|MiB|GiB))?/g)) {
        const flag = defaultOf.get(m[1]!);
        if (flag === undefined) continue;
        seen++;
        const doc = canonicalCell(`${m[2]}${m[3] ? ` ${m[3]}` : ''}`);
        const n = Number(flag);
        const same = doc.kind === 'size' ? doc.n === n : doc.kind === 'count' && doc.n === n;
        if (!same) wrong.push(`${file}: --${m[1]} (default ${m[2]}${m[3] ? ` ${m[3]}` : ''}) but the flag's default is ${flag}`);
      }
      for (const m of text.matchAll(/`--(http-[a-z-]+-timeout)` [([](\d+)[)\]]/g)) {
        seen++;
        if (defaultOf.get(m[1]!) !== m[2]) wrong.push(`${file}: --${m[1]} (${m[2]}) but the flag's default is ${defaultOf.get(m[1]!)}`);
      }
    }
    assert.ok(seen >= 10, `only ${seen} flag defaults found in the docs: has the wording changed?`);
    assert.deepEqual(wrong, []);
  });
  it('every docs table row naming a default (`side key`) shows its value', () => {
    const wrong: string[] = [];
    let seen = 0;
    for (const [file, text] of docTexts()) {
      for (const line of text.split('\n')) {
        const m = /\| `(shared|server|host|agent|cli) ([\w.]+)` \|$/.exec(line);
        if (!m) continue;
        seen++;
        const v = flattenDefaults(MODULES[m[1]!]![1]).get(m[2]!);
        if (v === undefined) wrong.push(`${file}: ${m[1]} ${m[2]} is not a default`);
        else if (!line.split(' | ')[1]!.includes(renderLeaf(m[2]!, v))) wrong.push(`${file}: the row of ${m[1]} ${m[2]} does not show ${renderLeaf(m[2]!, v)}: ${line}`);
      }
    }
    assert.ok(seen >= 15, `only ${seen} rows found`);
    assert.deepEqual(wrong, []);
  });
});
