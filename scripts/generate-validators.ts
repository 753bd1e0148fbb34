/**
 * Compile the JSON Schemas the server and the agent check at run time into plain JavaScript,
 * at build time (`npm run build` runs this first; `node --import tsx scripts/generate-validators.ts
 * [--check]`). The schemas stay where they are declared, with TypeBox, the single source of
 * every check and of the types derived from them; ajv compiles each exactly as it would at
 * start-up (same options) and writes its standalone code, so a running agent loads neither
 * TypeBox (some 200 modules) nor ajv (some 80, and its code generator): 6 to 12 MB of an idle
 * agent's memory (`npm run bench -- --only rss`).
 *
 *   shared/ruleset/ruleset-validator.ts    RULESET_SCHEMA       (shared/ruleset/ruleset-types.ts)
 *   shared/wire/message-validators.ts      MESSAGE_SCHEMAS      (shared/wire/message-schemas.ts)
 *   agent/state/state-file-validator.ts    StateFile            (agent/state/state-file-schema.ts)
 *
 * The files are committed, so that the sources type-check and run (tsx) without a build; the
 * mirrored test of each fails when it differs from what this script writes now (a schema changed
 * and the build was not run). With --check nothing is written: exit 1 when a file is stale.
 * With --dist DIR (the build runs it after tsc) each file's JavaScript replaces tsc's output of it
 * in DIR (see GeneratedFile.js).
 *
 * ajv's standalone code calls a few helpers of its runtime by `require()`; the one these schemas
 * need (ucs2length: maxLength and minLength count code points, not UTF-16 units) is copied into
 * the file, so it imports nothing. Any other helper is refused here rather than left as a
 * `require` that an ES module cannot run.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type AnySchema, type Options } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import ucs2length from 'ajv/dist/runtime/ucs2length.js';
import type { TLiteral, TObject } from '@sinclair/typebox';
import { RULESET_SCHEMA } from '../shared/ruleset/ruleset-types.js';
import { ClientMessage, MESSAGE_SCHEMAS, ServerMessage } from '../shared/wire/message-schemas.js';
import { StateFile } from '../agent/state/state-file-schema.js';

const standaloneCode = standalone.default;

/**
 * One generated file: its path (from the repository's root, a .ts file), its text, and the
 * JavaScript the build puts in dist/ for it: the same code without the types. tsc's own output
 * of the .ts file would do, but tsc re-indents ajv's deeply nested code (the ruleset check grows
 * from 111 KB to 446 KB), and a module's source stays in the heap as long as the agent runs.
 */
export interface GeneratedFile {
  path: string;
  text: string;
  js: string;
}

/** ajv's runtime helpers that may be inlined: how the code calls each, and its source. */
const INLINED_HELPERS: ReadonlyArray<[call: string, name: string, source: string]> = [
  ['require("ajv/dist/runtime/ucs2length").default', 'ucs2length', ucs2length.default.toString()],
];

/**
 * ajv's standalone ES module code for `schemas` (export name to schema) compiled with `options`,
 * its runtime helpers inlined: the JavaScript, and the names it exports. Throws when the code
 * needs a helper that is not inlined.
 */
function compile(schemas: Record<string, AnySchema>, options: Options): string {
  const ajv = new Ajv({ ...options, code: { source: true, esm: true, lines: true } });
  for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(schema, name);
  let code = standaloneCode(ajv, Object.fromEntries(Object.keys(schemas).map((n) => [n, n])));
  const helpers: string[] = [];
  for (const [call, name, source] of INLINED_HELPERS) {
    if (!code.includes(call)) continue;
    code = code.split(call).join(name);
    helpers.push(source);
  }
  if (/\brequire\(/.test(code)) throw new Error(`ajv's code needs a runtime helper that is not inlined: ${/require\([^)]*\)/.exec(code)![0]}`);
  for (const name of Object.keys(schemas)) {
    if (!code.includes(`export const ${name} = `)) throw new Error(`ajv's code does not export ${name}`);
  }
  return [...helpers, code.replace(/^"use strict";\n?/, '')].join('\n');
}

/**
 * The TypeScript file of `js` (the one committed and type-checked): the same code, each export
 * typed (`export const NAME: TYPE = `, from `types`, NAME to TYPE), under a header.
 */
function typed(js: string, types: Record<string, string>, importPath: string): string {
  let ts = js;
  for (const [name, type] of Object.entries(types)) {
    const exported = `export const ${name} = `;
    if (!ts.includes(exported)) throw new Error(`no export ${name}`);
    ts = ts.replace(exported, `export const ${name}: ${type} = `);
  }
  return `import type { SchemaValidator } from '${importPath}';\n${ts}`;
}

function header(schema: string, test: string, ts: boolean): string {
  return [
    ...(ts ? ['// @ts-nocheck: JavaScript that ajv wrote; the exports are typed.'] : []),
    '/**',
    ` * GENERATED by scripts/generate-validators.ts (\`npm run build\`) from ${schema}: do not edit.`,
    ` * ${test} fails when this file is stale.`,
    ' */',
    '',
  ].join('\n');
}

/** The message types a union admits, in its order. */
function typesOf(union: { anyOf: TObject[] }): string[] {
  return union.anyOf.map((s) => (s.properties.type as TLiteral<string>).const);
}

/** One generated file from its JavaScript: the .ts text and the .js text (see GeneratedFile). */
function file(path: string, schema: string, test: string, js: string, types: Record<string, string>, importPath: string): GeneratedFile {
  return { path, text: `${header(schema, test, true)}${typed(js, types, importPath)}`, js: `${header(schema, test, false)}${js}` };
}

/** Every generated file, as this build's schemas make it. Pure but for loading ajv. */
export function generatedValidators(): GeneratedFile[] {
  const ruleset = compile({ validateRulesetSchema: RULESET_SCHEMA }, { strict: true, allErrors: false });
  const state = compile({ validateStateFile: StateFile }, { strict: true });
  // Export names are the message types prefixed (`error` and others are not good identifiers).
  const types = [...MESSAGE_SCHEMAS.keys()];
  const exports = Object.fromEntries(types.map((t) => [`validate_${t}`, 'SchemaValidator']));
  const messages = compile(Object.fromEntries([...MESSAGE_SCHEMAS].map(([t, s]) => [`validate_${t}`, s])), { allErrors: false, strict: true });
  const table = [
    '',
    '/** The check of each message, by its type. */',
    `export const MESSAGE_VALIDATORS = new Map([${types.map((t) => `[${JSON.stringify(t)}, validate_${t}]`).join(', ')}]);`,
    '/** The types of ClientMessage (agent to server) and of ServerMessage (server to agent), in order. */',
    `export const CLIENT_MESSAGE_TYPE_LIST = ${JSON.stringify(typesOf(ClientMessage))};`,
    `export const SERVER_MESSAGE_TYPE_LIST = ${JSON.stringify(typesOf(ServerMessage))};`,
    '',
  ].join('\n');
  const listTypes = { MESSAGE_VALIDATORS: 'ReadonlyMap<string, SchemaValidator>', CLIENT_MESSAGE_TYPE_LIST: 'readonly string[]', SERVER_MESSAGE_TYPE_LIST: 'readonly string[]' };
  return [
    file('shared/ruleset/ruleset-validator.ts', 'RULESET_SCHEMA (shared/ruleset/ruleset-types.ts)', 'tests/unit/shared/ruleset/ruleset-validator.test.ts', `${ruleset}\n`, { validateRulesetSchema: 'SchemaValidator' }, '../json/schema-validator.js'),
    file('shared/wire/message-validators.ts', 'MESSAGE_SCHEMAS (shared/wire/message-schemas.ts)', 'tests/unit/shared/wire/message-validators.test.ts', `${messages}\n${table}`, { ...exports, ...listTypes }, '../json/schema-validator.js'),
    file('agent/state/state-file-validator.ts', 'StateFile (agent/state/state-file-schema.ts)', 'tests/unit/agent/state/state-file-validator.test.ts', `${state}\n`, { validateStateFile: 'SchemaValidator' }, '../../shared/json/schema-validator.js'),
  ];
}

/** The generated files under `root` whose text differs from what generatedValidators() makes. */
export function staleValidators(root: string): string[] {
  return generatedValidators()
    .filter((f) => {
      try {
        return readFileSync(resolve(root, f.path), 'utf8') !== f.text;
      } catch {
        return true;
      }
    })
    .map((f) => f.path);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const root = resolve(new URL('..', import.meta.url).pathname);
  const dist = process.argv.indexOf('--dist');
  if (process.argv.includes('--check')) {
    const stale = staleValidators(root);
    for (const p of stale) console.error(`generate-validators: ${p} is stale; run npm run build`);
    process.exitCode = stale.length === 0 ? 0 : 1;
  } else if (dist !== -1) {
    // After tsc: ajv's JavaScript over tsc's re-indented copy (and its source map, now wrong).
    const out = resolve(root, process.argv[dist + 1] ?? 'dist');
    for (const f of generatedValidators()) {
      const js = resolve(out, f.path.replace(/\.ts$/, '.js'));
      writeFileSync(js, f.js);
      rmSync(`${js}.map`, { force: true });
    }
  } else {
    const stale = staleValidators(root);
    for (const f of generatedValidators()) if (stale.includes(f.path)) writeFileSync(resolve(root, f.path), f.text);
  }
}
