/**
 * The layering check (scripts/check-layers.ts with the project's own .dependency-cruiser.cjs)
 * run on small fixture projects: a clean one passes, and one planted with every kind of crossing
 * and cycle fails, naming each broken rule. The type-only cycle shows that imports TypeScript
 * erases are still checked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { importsFromExplain } from '../../../scripts/check-layers.js';

const ROOT = resolve(import.meta.dirname, '../../..');

/** A fixture project with the real rules and `files` (path -> source); returns its folder. */
function fixture(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'nft-sync-layers-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [], skipLibCheck: true },
    include: ['shared/**/*.ts', 'host/**/*.ts', 'server/**/*.ts', 'agent/**/*.ts', 'cli/**/*.ts'],
  }));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function check(dir: string): { code: number | null; out: string } {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/check-layers.ts'), dir], { cwd: ROOT, encoding: 'utf8' });
  return { code: run.status, out: run.stdout + run.stderr };
}

const CLEAN = {
  'shared/codec.ts': "import { createHash } from 'node:crypto';\nimport { parse } from 'yaml';\nexport const yaml = parse;\nexport const digest = (s: string) => createHash('sha256').update(s).digest('hex');\n",
  'host/runner.ts': "import { spawnSync } from 'node:child_process';\nimport { digest } from '../shared/codec.js';\nexport const run = () => digest(String(spawnSync('true').status));\n",
  'server/git/repo.ts': "import { run } from '../../host/runner.js';\nexport const repo = () => run();\n",
  'server/start-server.ts': "import { repo } from './git/repo.js';\nexport const startServer = () => repo();\n",
  'agent/daemon.ts': "import { run } from '../host/runner.js';\nimport type { Api } from '../shared/api.js';\nexport const daemon = (a: Api) => run() + a.name;\n",
  'shared/api.ts': 'export interface Api { name: string }\n',
  'cli/main.ts': "import { startServer } from '../server/start-server.js';\nimport { daemon } from '../agent/daemon.js';\nexport const main = () => [startServer(), daemon({ name: 'x' })];\n",
};

test('a fixture that keeps to the layers passes the check', (t) => {
  const r = check(fixture(t, CLEAN));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /no dependency violations found/);
});

test('every planted crossing and cycle fails the check, each named by its rule', (t) => {
  const r = check(fixture(t, {
    ...CLEAN,
    // a cycle through a type-only import (erased from the JavaScript)
    'server/wire/session.ts': "import { allowed } from '../auth/identity.js';\nexport interface Source { ref: string }\nexport const session = () => allowed({ ref: 'x' });\n",
    'server/auth/identity.ts': "import type { Source } from '../wire/session.js';\nexport const allowed = (s: Source) => s.ref;\n",
    // crossings
    'shared/reads-files.ts': "import { readFileSync } from 'node:fs';\nexport const read = () => readFileSync('x');\n",
    'shared/logs.ts': "import pino from 'pino';\nexport const log = pino();\n",
    'shared/knows-server.ts': "import { repo } from '../server/git/repo.js';\nexport const r = repo;\n",
    'host/knows-agent.ts': "import { daemon } from '../agent/daemon.js';\nexport const d = daemon;\n",
    'server/uses-agent.ts': "import { daemon } from '../agent/daemon.js';\nexport const d = daemon;\n",
    'agent/uses-server.ts': "import { startServer } from '../server/start-server.js';\nexport const s = startServer;\n",
    'cli/status.ts': "import type { Source } from '../server/wire/session.js';\nexport const show = (s: Source) => s.ref;\n",
  }));
  assert.equal(r.code, 1, r.out);
  for (const rule of ['no-circular', 'shared-no-io', 'shared-only-pure-packages', 'shared-imports-only-shared', 'host-imports-only-shared-and-host', 'server-not-agent-or-cli', 'agent-not-server-or-cli', 'cli-only-server-entry-points']) {
    assert.match(r.out, new RegExp(`error ${rule}:`), `${rule} reported`);
  }
  assert.match(r.out, /no-circular: server\/(wire\/session|auth\/identity)\.js/);
  assert.match(r.out, /cli-only-server-entry-points: cli\/status\.js → server\/wire\/session\.js/);
});

test('importsFromExplain keeps relative imports by file, type-only ones included, and no packages', () => {
  const explain = [
    'server/wire/session.ts',
    "   Imported via './session.js' from file 'server/wire/server.ts'",
    "   Imported via '../wire/session.js' from file 'server/auth/identity.ts'",
    'node_modules/fastify/fastify.d.ts',
    "   Imported via 'fastify' from file 'server/http/app.ts' with packageId 'fastify/fastify.d.ts@5.12.8'",
  ].join('\n');
  assert.deepEqual([...importsFromExplain(explain)].map(([f, s]) => [f, [...s]]), [
    ['server/wire/server.ts', ['./session.js']],
    ['server/auth/identity.ts', ['../wire/session.js']],
  ]);
});
