/**
 * cli/agent-flags.ts: what `pull` and `agent` build from their flags once, at start: the server,
 * what to follow, the token, the seconds and sizes, and the errors for each bad flag.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentRunOptions, maxRulesetBytes } from '../../../cli/agent-flags.js';
import type { ParsedFlags } from '../../../cli/parse-command-line.js';
import { MAX_RULESET_BYTES_LIMIT } from '../../../agent/wire/wire-client.js';

/** The flags as the parser leaves them with every default filled in, plus `extra`. */
const flags = (extra: ParsedFlags): ParsedFlags => ({
  server: '127.0.0.1:7070', nft: 'nft', 'state-dir': '/var/lib/nft-sync', check: false, 'confirm-window': '30', 'max-ruleset-bytes': '1048576', 'allow-downgrade': false, ...extra,
});

test('agentRunOptions: server, target, ruleset, seconds and sizes from the flags', () => {
  const o = agentRunOptions('agent', flags({ ref: 'main', ruleset: 'web', 'confirm-window': '2.5', 'adopt-tables': 'inet f2b-table', check: true }), 'web-1');
  assert.deepEqual([o.host, o.port, o.agent, o.ref, o.track, o.ruleset, o.stateDir, o.check, o.confirmWindowMs, o.maxRulesetBytes], ['127.0.0.1', 7070, 'web-1', 'main', false, 'web', '/var/lib/nft-sync', true, 2500, 1_048_576]);
  assert.equal(o.tls, undefined);
  assert.equal(o.adoptTables?.length, 1);
  assert.deepEqual(o.nft.argv, ['nft']);
  const tracked = agentRunOptions('pull', flags({ 'track-tags': 'v*', 'allow-downgrade': true, nft: 'sudo -n nft' }), 'a');
  assert.deepEqual([tracked.ref, tracked.track, tracked.allowDowngrade], ['v*', true, true]);
  assert.deepEqual(tracked.nft.argv, ['sudo', '-n', 'nft']);
});

test('agentRunOptions: each bad flag its code, at start', () => {
  const cases: Array<[ParsedFlags, string]> = [
    [{ ref: 'main', server: 'nope' }, 'NFTSYNC_ERR_USAGE'],
    [{}, 'NFTSYNC_ERR_USAGE'],
    [{ ref: 'main', 'track-tags': 'v*' }, 'NFTSYNC_ERR_USAGE'],
    [{ ref: 'main', 'allow-downgrade': true }, 'NFTSYNC_ERR_USAGE'],
    [{ ref: 'a..b' }, 'NFTSYNC_ERR_REF_INVALID'],
    [{ ref: 'main', ruleset: '../etc' }, 'NFTSYNC_ERR_RULESET_NAME_INVALID'],
    [{ ref: 'main', 'confirm-window': '-1' }, 'NFTSYNC_ERR_USAGE'],
    [{ ref: 'main', 'tls-ca': '/nonexistent' }, 'NFTSYNC_ERR_USAGE'],
    [{ ref: 'main', 'allowed-signers': '/nonexistent/allowed_signers' }, 'NFTSYNC_ERR_CONFIG_INVALID'],
  ];
  for (const [extra, code] of cases) assert.throws(() => agentRunOptions('agent', flags(extra), 'a'), { code }, JSON.stringify(extra));
});

test('maxRulesetBytes: 1 KiB up to the frame limit', () => {
  assert.equal(maxRulesetBytes({ 'max-ruleset-bytes': '1024' }), 1024);
  assert.equal(maxRulesetBytes({ 'max-ruleset-bytes': String(MAX_RULESET_BYTES_LIMIT) }), MAX_RULESET_BYTES_LIMIT);
  for (const bad of ['1023', String(MAX_RULESET_BYTES_LIMIT + 1), 'x']) assert.throws(() => maxRulesetBytes({ 'max-ruleset-bytes': bad }), { code: 'NFTSYNC_ERR_USAGE' }, bad);
});
