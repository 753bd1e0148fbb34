import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kind } from '@sinclair/typebox';
import { NftSyncError } from '../../../../shared/errors.js';
import { AgentMapping, parseRepoConfig, REPO_CONFIG_SCHEMA, rulesetForAgent, rulesetsNamedBy, type RepoConfig } from '../../../../shared/config/repo-config.js';

function configError(text: string): NftSyncError {
  try {
    parseRepoConfig(text);
  } catch (err) {
    assert.ok(err instanceof NftSyncError, String(err));
    assert.equal(err.code, 'NFTSYNC_ERR_REPO_CONFIG_INVALID');
    return err;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be refused`);
}

describe('parseRepoConfig: accepted', () => {
  const cases: Array<[string, string, unknown]> = [
    ['empty file', '', {}],
    ['only a comment', '# nothing yet\n', {}],
    ['null document', '~\n', {}],
    ['no agents', 'version: 1\n', { version: 1 }],
    ['empty list', 'agents: []\n', { agents: [] }],
    ['two entries', 'agents:\n  - match: "web-*"\n    ruleset: web\n  - match: db-[0-9]*\n    ruleset: db.v2\n',
      { agents: [{ match: 'web-*', ruleset: 'web' }, { match: 'db-[0-9]*', ruleset: 'db.v2' }] }],
    ['flow style', 'agents: [{match: "*", ruleset: all}]', { agents: [{ match: '*', ruleset: 'all' }] }],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => assert.deepEqual(parseRepoConfig(text), want));
  }
  it('returns a frozen config', () => {
    const c = parseRepoConfig('agents: [{match: "*", ruleset: all}]');
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.agents) && Object.isFrozen(c.agents?.[0]));
  });
});

describe('parseRepoConfig: refused, with the path of the bad field', () => {
  const cases: Array<[string, string, string]> = [
    ['bad yaml', 'agents: [\n', 'line '],
    ['tab indentation', 'agents:\n\t- match: x\n', 'line '],
    ['duplicate key', 'agents: []\nagents: []\n', 'line '],
    ['top level is a list', '- match: x\n', '(top level)'],
    ['top level is a string', 'hello\n', '(top level)'],
    ['agents not a list', 'agents: web\n', 'agents'],
    ['entry not a mapping', 'agents: [web]\n', 'agents[0]'],
    ['unknown top key', 'agent: []\n', 'agent'],
    ['typo in entry key', 'agents:\n  - match: x\n    rulset: y\n', 'agents[0].rulset'],
    ['missing ruleset', 'agents:\n  - match: x\n', 'agents[0].ruleset'],
    ['missing match', 'agents:\n  - ruleset: x\n', 'agents[0].match'],
    ['ruleset not a string', 'agents:\n  - {match: x, ruleset: 12}\n', 'agents[0].ruleset'],
    ['version 2', 'version: 2\n', 'version'],
    ['ruleset ../x', 'agents:\n  - {match: x, ruleset: ../x}\n', 'agents[0].ruleset'],
    ['ruleset a/b', 'agents:\n  - {match: x, ruleset: a/b}\n', 'agents[0].ruleset'],
    ['ruleset .hidden', 'agents:\n  - {match: x, ruleset: .hidden}\n', 'agents[0].ruleset'],
    ['ruleset a..b', 'agents:\n  - {match: x, ruleset: a..b}\n', 'agents[0].ruleset'],
    ['ruleset with NUL', 'agents:\n  - {match: x, ruleset: "x\\0y"}\n', 'agents[0].ruleset'],
    ['ruleset too long', `agents:\n  - {match: x, ruleset: ${'a'.repeat(65)}}\n`, 'agents[0].ruleset'],
    ['second entry bad', 'agents:\n  - {match: x, ruleset: ok}\n  - {match: y, ruleset: "no way"}\n', 'agents[1].ruleset'],
    ['empty pattern', 'agents:\n  - {match: "", ruleset: a}\n', 'agents[0].match'],
    ['regex in pattern', 'agents:\n  - {match: "(a+)+$", ruleset: a}\n', 'agents[0].match'],
    ['unclosed class', 'agents:\n  - {match: "db-[0-9", ruleset: a}\n', 'agents[0].match'],
    ['reversed range', 'agents:\n  - {match: "db-[9-0]", ruleset: a}\n', 'agents[0].match'],
    ['slash in pattern', 'agents:\n  - {match: "a/*", ruleset: a}\n', 'agents[0].match'],
    ['backslash in pattern', 'agents:\n  - {match: "a\\\\*", ruleset: a}\n', 'agents[0].match'],
    ['alias bomb', 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n', '(file)'],
  ];
  for (const [name, text, path] of cases) {
    it(name, () => {
      const err = configError(text);
      assert.ok(String(err.data?.path).startsWith(path), `path ${String(err.data?.path)} should start with ${path}: ${err.message}`);
      assert.ok(err.message.startsWith('nft-sync.yaml: '), err.message);
    });
  }
  it('refuses a file over 1 MiB', () => assert.equal(configError(`# ${'x'.repeat(1024 * 1024)}\n`).data?.path, '(file)'));
});

describe('rulesetForAgent', () => {
  const config = parseRepoConfig(`
agents:
  - match: "web-*"
    ruleset: web
  - match: "db-[0-9]*"
    ruleset: db
  - match: "edge-??"
    ruleset: edge
  - match: "[!a-z]*"
    ruleset: upper
  - match: "web-1"
    ruleset: never
`);
  const cases: Array<[string, string]> = [
    ['web-1', 'web'], // first match wins over the later exact entry
    ['web-', 'web'],
    ['web', 'default'],
    ['db-1', 'db'],
    ['db-12x', 'db'],
    ['db-x', 'default'],
    ['edge-01', 'edge'],
    ['edge-1', 'default'],
    ['edge-001', 'default'],
    ['Host1', 'upper'],
    ['9lives', 'upper'],
    ['mail', 'default'],
    ['', 'default'],
  ];
  for (const [agent, want] of cases) it(`${JSON.stringify(agent)} -> ${want}`, () => assert.equal(rulesetForAgent(config, agent), want));
  it('no config means default', () => assert.equal(rulesetForAgent(undefined, 'web-1'), 'default'));
  it('lists the rulesets a config names, default included', () => {
    assert.deepEqual(rulesetsNamedBy(config), ['db', 'default', 'edge', 'never', 'upper', 'web']);
    assert.deepEqual(rulesetsNamedBy(undefined), ['default']);
  });
});

describe('parseRepoConfig: rollouts', () => {
  it('accepts waves by pattern and by percent, with a hold, for a branch and for tags', () => {
    const c = parseRepoConfig('rollouts:\n  main:\n    hold: 30\n    waves:\n      - agents: ["canary-*"]\n      - percent: 25\n      - percent: 100\n  tags:\n    waves: [{percent: 100}]\n');
    assert.deepEqual(c.rollouts, {
      main: { hold: 30, waves: [{ agents: ['canary-*'] }, { percent: 25 }, { percent: 100 }] },
      tags: { waves: [{ percent: 100 }] },
    });
  });
  const cases: Array<[string, string, string, RegExp]> = [
    ['no waves', 'rollouts:\n  main: {hold: 3}\n', 'rollouts.main.waves', /waves/],
    ['empty waves', 'rollouts:\n  main: {waves: []}\n', 'rollouts.main.waves', /fewer than 1/],
    ['typo in a rollout', 'rollouts:\n  main: {hodl: 3, waves: [{percent: 100}]}\n', 'rollouts.main.hodl', /hold and waves/],
    ['typo in a wave', 'rollouts:\n  main: {waves: [{precent: 100}]}\n', 'rollouts.main.waves[0].precent', /agents or percent/],
    ['wave with both', 'rollouts:\n  main: {waves: [{percent: 10, agents: ["a*"]}]}\n', 'rollouts.main.waves[0]', /exactly one/],
    ['wave with neither', 'rollouts:\n  main: {waves: [{}]}\n', 'rollouts.main.waves[0]', /exactly one/],
    ['percent over 100', 'rollouts:\n  main: {waves: [{percent: 101}]}\n', 'rollouts.main.waves[0].percent', /100/],
    ['percents going down', 'rollouts:\n  main: {waves: [{percent: 50}, {percent: 25}]}\n', 'rollouts.main.waves[1].percent', /cumulative/],
    ['bad glob', 'rollouts:\n  main: {waves: [{agents: ["web-["]}]}\n', 'rollouts.main.waves[0].agents[0]', /unclosed/],
    ['negative hold', 'rollouts:\n  main: {hold: -1, waves: [{percent: 100}]}\n', 'rollouts.main.hold', /0/],
    ['bad branch name', 'rollouts:\n  "../x": {waves: [{percent: 100}]}\n', 'rollouts.../x', /branch name/],
  ];
  for (const [name, text, path, why] of cases) {
    it(`refuses ${name} at ${path}`, () => {
      const err = configError(text);
      assert.equal((err.data as { path: string }).path, path, err.message);
      assert.match(err.message, why);
    });
  }
});

describe('nft-sync.yaml schema: declared once, with TypeBox', () => {
  it('REPO_CONFIG_SCHEMA is a TypeBox schema whose entries are AgentMapping; RepoConfig is derived from it (null = empty, as YAML writes it)', () => {
    assert.equal(REPO_CONFIG_SCHEMA[Kind], 'Object');
    assert.equal((REPO_CONFIG_SCHEMA.properties.agents as unknown as { items: unknown }).items, AgentMapping);
    const empty: RepoConfig = parseRepoConfig('version:\nagents:\n');
    assert.deepEqual(empty, { version: null, agents: null });
    assert.equal(rulesetForAgent(empty, 'web-1'), 'default');
    // @ts-expect-error `rulset` is not a field of an entry: the type follows the closed schema.
    const typo: AgentMapping = { match: 'web-*', rulset: 'web' };
    assert.equal(configError('agents:\n  - match: "web-*"\n    rulset: web\n').data?.path, 'agents[0].rulset');
    assert.ok(typo);
  });
});

it('rulesets.NAME.publishers: who may publish live changes to a ruleset', async () => {
  const { mayPublish } = await import('../../../../shared/config/repo-config.js');
  const config = parseRepoConfig('rulesets:\n  web:\n    publishers: ["web-*", "edge-1"]\n  db: {}\n');
  assert.equal(mayPublish(config, 'web', 'web-2'), true);
  assert.equal(mayPublish(config, 'web', 'edge-1'), true);
  assert.equal(mayPublish(config, 'web', 'db-1'), false);
  assert.equal(mayPublish(config, 'db', 'web-2'), false, 'an entry without publishers: nobody');
  assert.equal(mayPublish(config, 'default', 'web-2'), false, 'no entry: nobody');
  assert.equal(mayPublish(undefined, 'web', 'web-2'), false);
  assert.equal(mayPublish(config, 'constructor', 'x'), false);
  assert.throws(() => parseRepoConfig('rulesets:\n  web:\n    publisher: ["x"]\n'), (e: { code: string; message: string }) => e.code === 'NFTSYNC_ERR_REPO_CONFIG_INVALID' && /rulesets\.web\.publisher: unknown key/.test(e.message));
  assert.throws(() => parseRepoConfig('rulesets:\n  "a/b":\n    publishers: ["x"]\n'), /not a plain ruleset name/);
  assert.throws(() => parseRepoConfig('rulesets:\n  web:\n    publishers: ["[z-a]"]\n'), /rulesets\.web\.publishers\[0\]/);
});

describe('parseRepoConfig: rollouts (security)', () => {
  it('refuses a rollout whose patterns together pass ROLLOUT_MAX_PATTERN_CHARS, naming it: 19 waves of 100 long globs held the server 80 s per tick with 20 agents', () => {
    const glob = (i: number, j: number) => JSON.stringify(`*${'a'.repeat(120)}${String.fromCharCode(98 + (j % 20))}${i}*`);
    const wave = (i: number) => `      - agents: [${Array.from({ length: 100 }, (_, j) => glob(i, j)).join(', ')}]`;
    const yaml = `rollouts:\n  main:\n    waves:\n${Array.from({ length: 19 }, (_, i) => wave(i)).join('\n')}\n      - percent: 100\n`;
    assert.throws(() => parseRepoConfig(yaml), (err: unknown) => {
      assert.ok(err instanceof NftSyncError);
      assert.equal(err.code, 'NFTSYNC_ERR_REPO_CONFIG_INVALID');
      assert.match(err.message, /rollouts\.main: its wave patterns have \d+ characters in all, more than 1024/);
      return true;
    });
    // At the limit it is accepted: 8 patterns of 128 characters.
    const ok = `rollouts:\n  main:\n    waves:\n      - agents: [${Array.from({ length: 8 }, (_, j) => JSON.stringify(`*${'a'.repeat(125)}${j}*`)).join(', ')}]\n`;
    assert.equal(parseRepoConfig(ok).rollouts!['main']!.waves[0]!.agents!.length, 8);
  });
});
