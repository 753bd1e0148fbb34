/**
 * The HTTP API (buildHttpApp) on a real repository for route tests, driven with fastify's
 * inject(): a server fixture whose main has two commits (c1: the template; c2: ssh on 2222 and
 * a second ruleset `web`), a token for `alice`, and the check of the one error shape.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ERRORS } from '../../shared/errors.js';
import { parseTokenList } from '../../shared/config/token-list.js';
import { buildHttpApp, type HttpAppOptions } from '../../server/http/http-app.js';
import { quietLogger, startServerFixture, type ServerFixture } from './server-fixture.js';

export const DEFAULT_RULESET = readFileSync('repo-template/rulesets/default.json', 'utf8');
export const API_TOKEN = 'alice-token-0123456789abcdef';
/** Headers of a write by `alice`. */
export const ALICE = { authorization: `Bearer ${API_TOKEN}` };

export interface HttpAppFixture {
  f: ServerFixture;
  app: FastifyInstance;
  /** The template's commit. */
  c1: string;
  /** main now: default.json with ssh on 2222, and web.json. */
  c2: string;
}

/** A server fixture with two commits on main and the HTTP app over its repository (closed after the test). */
export async function httpAppFixture(t: Pick<TestContext, 'after'>, extra: Partial<HttpAppOptions> = {}): Promise<HttpAppFixture> {
  const f = await startServerFixture(t);
  const c1 = f.git(['rev-parse', 'HEAD']);
  const c2 = f.push({ 'rulesets/default.json': DEFAULT_RULESET.replace(/"right": 22\b/, '"right": 2222'), 'rulesets/web.json': DEFAULT_RULESET }, 'ssh on 2222; add web');
  const app = await buildHttpApp({ repository: f.server.repository, registry: f.server.wire.registry, logger: quietLogger, tokens: parseTokenList(`${API_TOKEN} alice\n`), ...extra });
  t.after(() => app.close());
  return { f, app, c1, c2 };
}

/** Assert `res` is the API's error answer for `code`: its status, code, retryable flag and a message. */
export function assertApiError(res: { statusCode: number; json(): unknown }, code: keyof typeof ERRORS): void {
  const body = res.json() as { error: { code: string; message: string; retryable: boolean } };
  assert.equal(body.error?.code, code, JSON.stringify(body));
  assert.equal(res.statusCode, ERRORS[code].status);
  assert.equal(body.error.retryable, ERRORS[code].retryable);
  assert.equal(typeof body.error.message, 'string');
}
