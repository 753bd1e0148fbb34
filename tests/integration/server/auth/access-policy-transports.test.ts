/**
 * The API and git over HTTP apply one authorisation rule (server/auth/access-policy.ts): for
 * every server setting, read and write, Host header and credentials, a request to the API and
 * the same request to git (fetch advertisement for a read, push advertisement for a write) are
 * both let through or both refused with the same code, and that is what authorise() decides.
 * Real repository, real `git http-backend`, fastify's inject().
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { NftSyncError } from '../../../../shared/errors.js';
import { authorise, type AccessPolicy } from '../../../../server/auth/access-policy.js';
import { buildHttpApp } from '../../../../server/http/http-app.js';
import { GIT_HTTP_PREFIX } from '../../../../server/git/git-http.js';
import { quietLogger, startServerFixture } from '../../../helpers/server-fixture.js';

const TOKEN = 'alice-token-0123456789abcdef';
const tokens = parseTokenList(`${TOKEN} alice\n`);
const POLICIES: Record<string, AccessPolicy> = {
  'no token list, listener not on loopback': {},
  'no token list, loopback listener': { anonymousWrites: true },
  'token list': { tokens, anonymousWrites: true },
  'token list, reads need a token': { tokens, readTokenRequired: true },
};
const HOSTS = ['127.0.0.1:8080', 'evil.example:8080'];
const CREDENTIALS: Record<string, string | undefined> = {
  none: undefined,
  bearer: `Bearer ${TOKEN}`,
  'basic password': `Basic ${Buffer.from(`ci:${TOKEN}`).toString('base64')}`,
  'unknown token': 'Bearer not-a-token',
};

/** 'ok', or the error code of a 401/403 answer. */
function outcome(res: { statusCode: number; json(): unknown }): string {
  if (res.statusCode !== 401 && res.statusCode !== 403) return 'ok';
  return (res.json() as { error: { code: string } }).error.code;
}

test('the API and git over HTTP let through and refuse the same requests, as authorise() decides', async (t) => {
  const f = await startServerFixture(t);
  let checked = 0;
  for (const [setting, policy] of Object.entries(POLICIES)) {
    const app = await buildHttpApp({ repository: f.server.repository, registry: f.server.wire.registry, logger: quietLogger, ...policy, git: { gitdir: f.server.repository.gitdir } });
    try {
      for (const write of [false, true]) for (const host of HOSTS) for (const [cred, authorization] of Object.entries(CREDENTIALS)) {
        const headers = { host, ...(authorization ? { authorization } : {}) };
        const api = write
          ? await app.inject({ method: 'POST', url: '/api/v1/rollback', headers: { ...headers, 'content-type': 'application/json' }, payload: '{}' })
          : await app.inject({ method: 'GET', url: '/api/v1/rulesets?ref=main', headers });
        const git = await app.inject({ method: 'GET', url: `${GIT_HTTP_PREFIX}/info/refs?service=git-${write ? 'receive' : 'upload'}-pack`, headers });
        let expected = 'ok';
        try {
          authorise(policy, { write, host, authorization, via: 'api' });
        } catch (err) {
          expected = (err as NftSyncError).code;
        }
        const what = `${setting}, ${write ? 'write' : 'read'}, Host ${host}, credentials: ${cred}`;
        assert.equal(outcome(api), expected, `API: ${what}`);
        assert.equal(outcome(git), expected, `git: ${what}`);
        if (expected === 'ok') assert.equal(git.statusCode, 200, `git served: ${what}`);
        if (expected === 'NFTSYNC_ERR_AUTH_REQUIRED') assert.match(String(git.headers['www-authenticate']), /^Basic realm=/, `git asks for credentials: ${what}`);
        checked++;
      }
    } finally {
      await app.close();
    }
  }
  assert.equal(checked, 4 * 2 * 2 * 4);
});
