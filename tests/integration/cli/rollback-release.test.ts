/**
 * cli/rollback-release.ts against a real server (tests/helpers/server-fixture.ts) with git over
 * HTTP and a token: the rollback publishes the next patch release, a commit on the release
 * branch whose rulesets equal TO's (history kept, other files kept) and an annotated tag, in one
 * push; nothing when the highest release already has TO's rulesets; clear errors for a missing
 * token, no release, an unknown TO. No root: no nft, no namespace.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import { rollbackRelease } from '../../../cli/rollback-release.js';
import { parseTokenList } from '../../../shared/config/token-list.js';
import { expectCode } from '../../helpers/expect-code.js';
import { startServerFixture } from '../../helpers/server-fixture.js';
import { tag } from '../../helpers/signing-fixture.js';

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const TOKEN = 'rollback-token-0123456789abcdef';
const withPort = (port: number) => DEFAULT.replace(/"right": 22\b/, `"right": ${port}`);

async function setup(t: TestContext) {
  const fx = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} ops\n`) });
  const http = `http://127.0.0.1:${fx.server.httpAddress!.port}`;
  const release = (name: string, files: Record<string, string>) => {
    const commit = fx.commit(files, `release ${name}`);
    tag(fx.clone, name);
    fx.git(['push', '-q', 'origin', 'HEAD:main', `refs/tags/${name}`]);
    return commit;
  };
  /** What the server's repository holds at `rev`. */
  const server = (args: string[]) => fx.git(args, fx.bare);
  return { fx, http, release, server };
}

describe('rollbackRelease (real server, git over HTTP)', () => {
  test('publishes the next patch release with the rulesets of TO: a new commit on the release branch and an annotated tag, in one push', async (t) => {
    const { http, release, server } = await setup(t);
    const v100 = release('v1.0.0', { 'rulesets/default.json': withPort(1000) });
    const v110 = release('v1.1.0', { 'rulesets/default.json': withPort(2000), 'README.extra': 'kept\n' });
    const out = await rollbackRelease({ http, pattern: 'v*', to: 'v1.0.0', token: TOKEN });
    assert.equal(out.kind, 'published');
    if (out.kind !== 'published') return;
    assert.deepEqual({ ...out, commit: undefined }, { kind: 'published', tag: 'v1.1.1', commit: undefined, branch: 'main', highest: 'v1.1.0', signed: false });
    assert.equal(server(['rev-parse', 'refs/heads/main']), out.commit, 'the branch moved to the rollback commit');
    assert.equal(server(['rev-parse', 'refs/tags/v1.1.1^{commit}']), out.commit);
    assert.equal(server(['cat-file', '-t', 'refs/tags/v1.1.1']), 'tag', 'an annotated tag');
    assert.equal(server(['rev-parse', `${out.commit}^`]), v110, 'history kept: the parent is the highest release');
    assert.equal(server(['rev-parse', `${out.commit}:rulesets`]), server(['rev-parse', `${v100}:rulesets`]), "TO's rulesets");
    assert.equal(server(['show', `${out.commit}:README.extra`]), 'kept', 'other files stay as on the branch');
    // Again: the highest release (v1.1.1) already has v1.0.0's rulesets; nothing is published.
    assert.deepEqual(await rollbackRelease({ http, pattern: 'v*', to: 'v1.0.0', token: TOKEN }), { kind: 'noop', highest: 'v1.1.1', commit: out.commit });
    assert.equal(server(['tag', '-l', 'v1.1.2']), '');
  });

  test('refusals: no token (the push is refused), no matching release, an unknown TO; nothing is published', async (t) => {
    const { http, release, server } = await setup(t);
    release('v1.0.0', { 'rulesets/default.json': withPort(1000) });
    release('v1.1.0', { 'rulesets/default.json': withPort(2000) });
    const before = server(['for-each-ref']);
    await expectCode(rollbackRelease({ http, pattern: 'v*', to: 'v1.0.0' }), 'NFTSYNC_ERR_AUTH_REQUIRED');
    await expectCode(rollbackRelease({ http, pattern: 'release-*', to: 'v1.0.0', token: TOKEN }), 'NFTSYNC_ERR_REF_NOT_FOUND');
    await expectCode(rollbackRelease({ http, pattern: 'v*', to: 'v0.9.9', token: TOKEN }), 'NFTSYNC_ERR_REF_NOT_FOUND');
    assert.equal(server(['for-each-ref']), before, 'no branch or tag moved');
  });
});
