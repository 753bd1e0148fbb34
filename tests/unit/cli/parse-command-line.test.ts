import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { helpText, parseCommandLine, type Flags } from '../../../cli/parse-command-line.js';
import { expectCode } from '../../helpers/expect-code.js';
import { makeTempDir } from '../../helpers/temp-dir.js';

const flags: Flags = {
  server: { type: 'string', required: true, description: 'HOST:PORT' },
  window: { type: 'string', default: '30', description: 'seconds' },
  heal: { type: 'boolean', default: true, description: 'heal' },
  watch: { type: 'string', valueIfBare: '2', description: 'every SECONDS' },
};

test('parseCommandLine: defaults, --no-FLAG, a bare valueIfBare flag, a negative number as a value', () => {
  const a = parseCommandLine('agent', ['--server', 'h:1'], flags);
  assert.deepEqual(a.values, { server: 'h:1', window: '30', heal: true });
  const b = parseCommandLine('agent', ['--server', 'h:1', '--no-heal', '--watch', '--window', '-1'], flags);
  assert.equal(b.values.heal, false);
  assert.equal(b.values.watch, '2');
  assert.equal(b.values.window, '-1', 'left to the flag\'s own range check');
  assert.equal(parseCommandLine('agent', ['--server', 'h:1', '--watch', '5'], flags).values.watch, '5');
});

test('parseCommandLine: a missing required flag, an unknown flag or a stray positional is NFTSYNC_ERR_USAGE naming the command', () => {
  assert.match(expectCode(() => parseCommandLine('agent', [], flags), 'NFTSYNC_ERR_USAGE').message, /^agent: --server is required/);
  assert.match(expectCode(() => parseCommandLine('agent', ['--server', 'h:1', '--nope'], flags), 'NFTSYNC_ERR_USAGE').message, /^agent: /);
  assert.match(expectCode(() => parseCommandLine('agent', ['--server', 'h:1', 'extra'], flags), 'NFTSYNC_ERR_USAGE').message, /expected no positional arguments, got extra/);
  assert.deepEqual(parseCommandLine('init', ['dir'], {}, ['DIR']).positionals, ['dir']);
});

test('parseCommandLine: a --config file gives values, flags on the command line override them', (t) => {
  const file = join(makeTempDir(t), 'agent.yaml');
  writeFileSync(file, 'server: from-file:1\nwindow: "10"\n');
  const r = parseCommandLine('agent', ['--config', file, '--window', '5'], flags);
  assert.equal(r.values.server, 'from-file:1');
  assert.equal(r.values.window, '5');
});

test('helpText lists every flag with its default or (required)', () => {
  const text = helpText('agent', 'Run the agent.', flags);
  assert.match(text, /--server SERVER +HOST:PORT \(required\)/);
  assert.match(text, /--window WINDOW +seconds \(default: 30\)/);
  assert.match(text, /--config FILE/);
});
