/**
 * The HTTP API on a real repository through fastify's inject(): every route, bad revisions,
 * unknown rulesets, hostile names, bad query parameters, and write authorisation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ERRORS } from '../../../../shared/errors.js';
import { parseTokenList } from '../../../../shared/config/token-list.js';
import { SERVER_DEFAULTS } from '../../../../server/defaults.js';
import { buildHttpApp, type HttpAppOptions } from '../../../../server/http/http-app.js';
import { quietLogger, startServerFixture, type ServerFixture } from '../../../helpers/server-fixture.js';

/** `/api/v1/rulesets/:name` -> `/api/v1/rulesets/{name}`. */
const openApiPath = (url: string): string => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const DEFAULT = readFileSync('repo-template/rulesets/default.json', 'utf8');
const TOKEN = 'alice-token-0123456789abcdef';
const closeDrop = (s: string) => s.replace(/"right": 22\b/, '"right": 2222');

async function setup(t: TestContext, extra: Partial<HttpAppOptions> = {}): Promise<{ f: ServerFixture; app: FastifyInstance; c1: string; c2: string }> {
  const f = await startServerFixture(t);
  const c1 = f.git(['rev-parse', 'HEAD']);
  const c2 = f.push({ 'rulesets/default.json': closeDrop(DEFAULT), 'rulesets/web.json': DEFAULT }, 'ssh on 2222; add web');
  const app = await buildHttpApp({
    repository: f.server.repository,
    registry: f.server.wire.registry,
    logger: quietLogger,
    tokens: parseTokenList(`${TOKEN} alice\n`),
    ...extra,
  });
  t.after(() => app.close());
  return { f, app, c1, c2 };
}

function assertError(res: { statusCode: number; json(): unknown }, code: keyof typeof ERRORS): void {
  const body = res.json() as { error: { code: string; message: string; retryable: boolean } };
  assert.equal(body.error?.code, code, JSON.stringify(body));
  assert.equal(res.statusCode, ERRORS[code].status);
  assert.equal(body.error.retryable, ERRORS[code].retryable);
  assert.equal(typeof body.error.message, 'string');
}

describe('HTTP API', () => {
  test('GET /api/v1/rulesets lists names and blobs at a ref; bad and unknown refs get stable codes', async (t) => {
    const { app, c1, c2 } = await setup(t);
    const res = await app.inject('/api/v1/rulesets?ref=main');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.commit, c2);
    assert.deepEqual(body.rulesets.map((r: { name: string }) => r.name), ['default', 'web']);
    assert.match(body.rulesets[0].blob, /^[0-9a-f]{40}$/);
    assert.deepEqual((await app.inject(`/api/v1/rulesets?ref=${c1.slice(0, 8)}`)).json().rulesets.map((r: { name: string }) => r.name), ['default']);
    assert.equal((await app.inject('/api/v1/rulesets')).json().commit, c2, 'default ref is main');
    assertError(await app.inject('/api/v1/rulesets?ref=nope'), 'NFTSYNC_ERR_REF_NOT_FOUND');
    assertError(await app.inject('/api/v1/rulesets?ref=a..b'), 'NFTSYNC_ERR_REF_INVALID');
    assertError(await app.inject('/api/v1/rulesets?ref=%00'), 'NFTSYNC_ERR_REF_INVALID');
    assertError(await app.inject('/api/v1/rulesets?ref=-x'), 'NFTSYNC_ERR_REF_INVALID');
    assertError(await app.inject('/api/v1/rulesets?bogus=1'), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await app.inject(`/api/v1/rulesets?ref=${'a'.repeat(300)}`), 'NFTSYNC_ERR_API_INVALID_REQUEST');
  });

  test('GET /api/v1/rulesets/:name: parsed JSON, raw bytes, unknown and hostile names', async (t) => {
    const { app, c1, c2 } = await setup(t);
    const res = await app.inject('/api/v1/rulesets/default?ref=main');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.commit, c2);
    assert.equal(body.name, 'default');
    assert.ok(Array.isArray(body.ruleset.nftables));
    assert.equal(res.headers.etag, `"${body.blob}"`);
    const raw = await app.inject(`/api/v1/rulesets/default?ref=${c1}&raw=1`);
    assert.equal(raw.body, DEFAULT, 'raw answers the stored bytes exactly');
    assertError(await app.inject('/api/v1/rulesets/missing'), 'NFTSYNC_ERR_RULESET_NOT_FOUND');
    assertError(await app.inject(`/api/v1/rulesets/web?ref=${c1}`), 'NFTSYNC_ERR_RULESET_NOT_FOUND');
    for (const hostile of ['..%2F..%2Fetc%2Fpasswd', 'a%2Fb', 'a%00b', '.hidden', 'x'.repeat(65), 'a%0Ab', '-x']) {
      assertError(await app.inject(`/api/v1/rulesets/${hostile}`), 'NFTSYNC_ERR_RULESET_NAME_INVALID');
    }
    // Dot segments are resolved before routing: they lead to no route, never to another file.
    for (const dots of ['..', '%2e%2e']) assertError(await app.inject(`/api/v1/rulesets/${dots}`), 'NFTSYNC_ERR_API_NOT_FOUND');
    assertError(await app.inject('/api/v1/rulesets/default?raw=maybe'), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await app.inject('/api/v1/rulesets/default?ref=v9.9'), 'NFTSYNC_ERR_REF_NOT_FOUND');
  });

  test('GET /api/v1/rulesets/:name/revisions: newest first, limit, bad limits', async (t) => {
    const { f, app, c1, c2 } = await setup(t);
    f.push({ 'README.md': 'unrelated\n' }, 'docs only');
    const res = await app.inject('/api/v1/rulesets/default/revisions?ref=main');
    assert.equal(res.statusCode, 200);
    const revs = res.json().revisions;
    assert.deepEqual(revs.map((r: { commit: string }) => r.commit), [c2, c1], 'only commits that changed the file');
    assert.equal(revs[0].message, 'ssh on 2222; add web');
    assert.match(revs[0].date, /^\d{4}-\d\d-\d\dT/);
    assert.equal(typeof revs[0].author.name, 'string');
    assert.equal((await app.inject('/api/v1/rulesets/default/revisions?limit=1')).json().revisions.length, 1);
    for (const bad of ['0', '-1', 'abc', '1001', '1.5']) assertError(await app.inject(`/api/v1/rulesets/default/revisions?limit=${bad}`), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await app.inject('/api/v1/rulesets/never/revisions'), 'NFTSYNC_ERR_RULESET_NOT_FOUND');
    assertError(await app.inject('/api/v1/rulesets/..%2Fx/revisions'), 'NFTSYNC_ERR_RULESET_NAME_INVALID');
    assertError(await app.inject('/api/v1/rulesets/default/revisions?ref=deadbeef'), 'NFTSYNC_ERR_REF_NOT_FOUND');
  });

  test('GET /api/v1/diff: object-level changes and added rulesets; bad parameters', async (t) => {
    const { app, c1, c2 } = await setup(t);
    const res = await app.inject(`/api/v1/diff?from=${c1}&to=main`);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.from.commit, c1);
    assert.equal(body.to.commit, c2);
    assert.deepEqual(body.rulesets.added, ['web']);
    assert.deepEqual(body.rulesets.removed, []);
    const [changed] = body.rulesets.changed;
    assert.equal(changed.name, 'default');
    assert.equal(changed.diff.rules.added.length, 1);
    assert.equal(changed.diff.rules.removed.length, 1);
    assert.equal(changed.diff.rules.added[0].chain, 'inet nft_sync input');
    assert.match(JSON.stringify(changed.diff.rules.added[0].rule), /2222/);
    const back = (await app.inject(`/api/v1/diff?from=main&to=${c1}&ruleset=web`)).json();
    assert.deepEqual(back.rulesets, { added: [], removed: ['web'], changed: [] });
    const same = (await app.inject('/api/v1/diff?from=main&to=main')).json();
    assert.deepEqual(same.rulesets, { added: [], removed: [], changed: [] });
    assertError(await app.inject('/api/v1/diff?from=main'), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await app.inject('/api/v1/diff?from=main&to=nope'), 'NFTSYNC_ERR_REF_NOT_FOUND');
    assertError(await app.inject('/api/v1/diff?from=main&to=x~1'), 'NFTSYNC_ERR_REF_INVALID');
    assertError(await app.inject('/api/v1/diff?from=main&to=main&ruleset=..%2Fetc'), 'NFTSYNC_ERR_RULESET_NAME_INVALID');
    assertError(await app.inject('/api/v1/diff?from=main&to=main&ruleset=ghost'), 'NFTSYNC_ERR_RULESET_NOT_FOUND');
  });

  test('GET /api/v1/agents and /api/v1/agents/:name', async (t) => {
    const { f, app } = await setup(t);
    const reg = f.server.wire.registry;
    reg.report({ agent: 'host-1', ref: 'main', state: 'Applied', commit: 'a'.repeat(40), conditions: [{ type: 'Ready', status: 'True', reason: 'Applied' }] }, '127.0.0.1');
    const list = (await app.inject('/api/v1/agents')).json();
    assert.equal(list.agents.length, 1);
    assert.equal(list.agents[0].status.state, 'Applied');
    const one = await app.inject('/api/v1/agents/host-1');
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().name, 'host-1');
    assertError(await app.inject('/api/v1/agents/host-2'), 'NFTSYNC_ERR_AGENT_NOT_FOUND');
    assertError(await app.inject('/api/v1/agents/..%2Fx'), 'NFTSYNC_ERR_API_INVALID_REQUEST');
  });

  test('POST /api/v1/rollback: auth missing, wrong and good; bad bodies; no-op refused', async (t) => {
    const { f, app, c1, c2 } = await setup(t);
    const post = (body: unknown, token?: string) =>
      app.inject({ method: 'POST', url: '/api/v1/rollback', payload: body as object, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const noAuth = await post({ branch: 'main', to: c1 });
    assertError(noAuth, 'NFTSYNC_ERR_AUTH_REQUIRED');
    assert.match(String(noAuth.headers['www-authenticate']), /Bearer/);
    assertError(await post({ branch: 'main', to: c1 }, 'wrong-token-0123456789'), 'NFTSYNC_ERR_AUTH_REQUIRED');
    assert.equal(f.git(['rev-parse', 'main'], f.bare), c2, 'refused writes change nothing');
    assertError(await post({ branch: 'main' }, TOKEN), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await post({ branch: 'main', to: c1, extra: 1 }, TOKEN), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await app.inject({ method: 'POST', url: '/api/v1/rollback', payload: '{nope', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } }), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await post({ branch: 'main', to: 'nope' }, TOKEN), 'NFTSYNC_ERR_REF_NOT_FOUND');
    assertError(await post({ branch: 'nobranch', to: c1 }, TOKEN), 'NFTSYNC_ERR_REF_NOT_FOUND');
    assertError(await post({ branch: 'refs/tags/x', to: c1 }, TOKEN), 'NFTSYNC_ERR_REF_INVALID');
    const ok = await post({ branch: 'main', to: c1 }, TOKEN);
    assert.equal(ok.statusCode, 201, ok.body);
    const r = ok.json();
    assert.equal(r.previous, c2);
    assert.equal(r.owner, 'alice');
    assert.equal(f.git(['rev-parse', 'main'], f.bare), r.commit);
    assert.equal(f.git(['rev-parse', `${r.commit}^`], f.bare), c2, 'parent is the old head: history kept');
    assert.equal(f.git(['rev-parse', `${r.commit}:rulesets`], f.bare), f.git(['rev-parse', `${c1}:rulesets`], f.bare));
    assert.match(f.git(['log', '-1', '--format=%B', r.commit], f.bare), new RegExp(`Roll back rulesets to ${c1}[\\s\\S]*Requested by: alice`));
    assertError(await post({ branch: 'main', to: c1 }, TOKEN), 'NFTSYNC_ERR_ROLLBACK_NOOP');
    const metrics = (await app.inject('/metrics')).body;
    assert.match(metrics, /^nftsync_rollbacks_total 1$/m);
  });

  test('an unauthenticated write gets 401 whatever its body carries: the credentials are checked before the body is read', async (t) => {
    const { f, app, c2 } = await setup(t);
    const bodies: Array<[string, Record<string, string>]> = [
      ['{"branch":"main"}', { 'content-type': 'application/json' }], // a required field missing
      ['{"branch":"main","to":"x","extra":1}', { 'content-type': 'application/json' }], // an unknown field
      ['{nope', { 'content-type': 'application/json' }], // not JSON
      ['branch=main', { 'content-type': 'application/x-www-form-urlencoded' }], // a type the API does not take
      ['', { 'content-type': 'application/json' }], // empty
      [JSON.stringify({ branch: 'main', to: 'x'.repeat(2 * 1024 * 1024) }), { 'content-type': 'application/json' }], // past the body limit
    ];
    for (const [payload, headers] of bodies) {
      for (const auth of [{}, { authorization: 'Bearer wrong-token-0123456789' }]) {
        const res = await app.inject({ method: 'POST', url: '/api/v1/rollback', payload, headers: { ...headers, ...auth } });
        assertError(res, 'NFTSYNC_ERR_AUTH_REQUIRED');
      }
    }
    const { app: noTokens } = await setup(t, { tokens: undefined, anonymousWrites: false });
    assertError(await noTokens.inject({ method: 'POST', url: '/api/v1/rollback', payload: '{nope', headers: { 'content-type': 'application/json' } }), 'NFTSYNC_ERR_API_WRITES_DISABLED');
    assert.equal(f.git(['rev-parse', 'main'], f.bare), c2);
  });

  test('a JSON body nesting deeper than http.maxBodyDepth is refused before it is parsed (JSON.parse of 60 MB of [[[[ holds the event loop for 40 s; 50,000 levels overflowed the stack into a 500)', async (t) => {
    const { f, app } = await setup(t);
    const set = { nftables: [{ table: { family: 'inet', name: 'edge' } }, { set: { family: 'inet', table: 'edge', name: 'states', type: 'ct_state' } }] };
    f.push({ 'rulesets/edge.json': JSON.stringify(set) }, 'a set of a type the element API takes as written');
    const post = (payload: string) =>
      app.inject({ method: 'POST', url: '/api/v1/rulesets/edge/sets/inet/edge/states/elements', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, payload });
    for (const deep of ['{"add":[' + '['.repeat(50_000) + ']'.repeat(50_000) + ']}', '{"add":[' + '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000) + ']}', '{"add":[' + '['.repeat(2_000_000)]) {
      const res = await post(deep);
      assertError(res, 'NFTSYNC_ERR_API_INVALID_REQUEST');
      assert.match(res.json().error.message, new RegExp(`body nests deeper than ${SERVER_DEFAULTS.http.maxBodyDepth} levels`));
    }
    // Brackets inside strings do not count, and ordinary nesting still reaches the route.
    assertError(await post(JSON.stringify({ add: ['['.repeat(1000)] })), 'NFTSYNC_ERR_PUSH_REFUSED');
  });

  test('path parameters as long as an nft name (255 characters) reach the route; longer ones get the one error shape, not fastify\'s', async (t) => {
    const { app } = await setup(t);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const at = (set: string) => app.inject({ method: 'POST', url: `/api/v1/rulesets/default/sets/inet/nft_sync/${set}/elements`, headers: auth, payload: { add: ['198.18.0.1'] } });
    assertError(await at('s'.repeat(255)), 'NFTSYNC_ERR_SET_NOT_FOUND');
    assertError(await at('s'.repeat(256)), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await at('s'.repeat(5000)), 'NFTSYNC_ERR_API_INVALID_REQUEST');
    assertError(await app.inject(`/api/v1/rulesets/${'x'.repeat(5000)}`), 'NFTSYNC_ERR_API_INVALID_REQUEST');
  });

  test('NFTSYNC_ERR_API_INVALID_REQUEST names the parameter or field at fault, in its message and data', async (t) => {
    const { app } = await setup(t);
    const post = (payload: string) =>
      app.inject({ method: 'POST', url: '/api/v1/rollback', payload, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    const cases: Array<[Promise<{ statusCode: number; json(): unknown }>, RegExp, Record<string, string>]> = [
      [app.inject('/api/v1/rulesets/default/revisions?limit=5000'), /^query limit: must be <= 1000/, { in: 'querystring', parameter: 'limit' }],
      [app.inject('/api/v1/rulesets?bogus=1'), /^query bogus: is not a known parameter/, { in: 'querystring', parameter: 'bogus' }],
      [app.inject('/api/v1/diff?from=main'), /^query to: is required/, { in: 'querystring', parameter: 'to' }],
      [post('{"branch":"main"}'), /^body \/to: is required/, { in: 'body', field: '/to' }],
      [post('{"branch":"main","to":"x","extra":1}'), /^body \/extra: is not a known field/, { in: 'body', field: '/extra' }],
      [post('{"branch":{},"to":"x"}'), /^body \/branch: must be string/, { in: 'body', field: '/branch' }],
      [post('[1]'), /^body: must be object/, { in: 'body', field: '/' }],
      [post('{nope'), /^body: /, { in: 'body', field: '/' }],
    ];
    for (const [res, message, data] of cases) {
      const r = await res;
      assertError(r, 'NFTSYNC_ERR_API_INVALID_REQUEST');
      const e = (r.json() as { error: { message: string; data: Record<string, unknown> } }).error;
      assert.match(e.message, message);
      for (const [k, v] of Object.entries(data)) assert.equal(e.data[k], v, `${e.message}: data.${k}`);
    }
  });

  test('with readTokenRequired, API reads need a bearer token over the socket; health, readiness, metrics and the OpenAPI document stay open', async (t) => {
    const f = await startServerFixture(t, { http: { host: '127.0.0.1', port: 0 }, tokens: parseTokenList(`${TOKEN} alice\n`), readTokenRequired: true });
    const base = `http://127.0.0.1:${f.server.httpAddress!.port}`;
    const get = async (path: string, token?: string) => {
      const res = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { statusCode: res.status, headers: res.headers, body: await res.text() };
    };
    for (const path of ['/api/v1/rulesets', '/api/v1/rulesets/default', '/api/v1/rulesets/default/revisions', '/api/v1/diff?from=main&to=main', '/api/v1/agents', '/api/v1/agents/host-1']) {
      for (const token of [undefined, 'wrong-token-0123456789']) {
        const r = await get(path, token);
        assert.equal(r.statusCode, 401, `${path} ${r.body}`);
        assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'NFTSYNC_ERR_AUTH_REQUIRED');
        assert.match(String(r.headers.get('www-authenticate')), /^Bearer /);
      }
    }
    // The token check comes before the parameters are validated: no hint about them without it.
    assert.equal((await get('/api/v1/rulesets?bogus=1')).statusCode, 401);
    const ok = await get('/api/v1/rulesets/default', TOKEN);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await get('/api/v1/agents', TOKEN)).statusCode, 200);
    for (const open of ['/healthz', '/readyz', '/metrics', '/api/v1/openapi.json']) assert.equal((await get(open)).statusCode, 200, open);
    assert.equal((await get('/api/v1/nothing')).statusCode, 404);
  });

  test('writes without --token-file: allowed on loopback only', async (t) => {
    const { app: open, c1 } = await setup(t, { tokens: undefined, anonymousWrites: true });
    const ok = await open.inject({ method: 'POST', url: '/api/v1/rollback', payload: { branch: 'main', to: c1 } });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().owner, 'local');
    const { app: closed } = await setup(t, { tokens: undefined, anonymousWrites: false });
    assertError(await closed.inject({ method: 'POST', url: '/api/v1/rollback', payload: { branch: 'main', to: c1 } }), 'NFTSYNC_ERR_API_WRITES_DISABLED');
  });

  test('health, readiness, metrics, unknown routes and methods', async (t) => {
    const { app } = await setup(t);
    assert.deepEqual((await app.inject('/healthz')).json(), { status: 'ok' });
    assert.equal((await app.inject('/readyz')).json().status, 'ready');
    await app.inject('/api/v1/rulesets/nope');
    const m = await app.inject('/metrics');
    assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    for (const name of ['nftsync_agents', 'nftsync_wire_connections', 'nftsync_http_requests_total', 'nftsync_ref_moves_total', 'nftsync_rollbacks_total', 'process_start_time_seconds']) {
      assert.match(m.body, new RegExp(`^# TYPE ${name} `, 'm'));
    }
    assert.match(m.body, /^nftsync_http_requests_total\{route="\/api\/v1\/rulesets\/:name",status="404"\} 1$/m);
    assertError(await app.inject('/api/v1/nothing'), 'NFTSYNC_ERR_API_NOT_FOUND');
    assertError(await app.inject('/api/v1/rulesets/a/b'), 'NFTSYNC_ERR_API_NOT_FOUND');
    assertError(await app.inject({ method: 'DELETE', url: '/api/v1/rulesets' }), 'NFTSYNC_ERR_API_NOT_FOUND');
  });

  test('the OpenAPI document describes every registered route, and only those', async (t) => {
    const f = await startServerFixture(t);
    const seen = new Set<string>();
    const app = await buildHttpApp({ repository: f.server.repository, registry: f.server.wire.registry, logger: quietLogger });
    t.after(() => app.close());
    // An independent record of the routes: the router's own printout.
    // The printout is a tree: a line's depth is where its `── ` starts, its path the parents' plus its own.
    const stack: string[] = [];
    for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /^(.*?)[└├]── (\S+) \(([A-Z, ]+)\)/.exec(line);
      if (!m) continue;
      const depth = m[1]!.length / 4;
      stack.length = depth;
      stack.push(m[2]!);
      for (const method of m[3]!.split(', ')) if (method !== 'HEAD') seen.add(`${method.toLowerCase()} ${openApiPath(stack.join(''))}`);
    }
    assert.ok(seen.size >= 11, [...seen].join(', '));
    const doc = (await app.inject('/api/v1/openapi.json')).json();
    assert.equal(doc.openapi, '3.1.0');
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) for (const method of Object.keys(ops)) documented.add(`${method} ${path}`);
    assert.deepEqual([...documented].sort(), [...seen].sort());
    for (const p of ['get /api/v1/rulesets/{name}/revisions', 'get /api/v1/diff', 'post /api/v1/rollback', 'get /metrics', 'get /api/v1/openapi.json']) assert.ok(documented.has(p), p);
    const rb = doc.paths['/api/v1/rollback'].post;
    assert.deepEqual(rb.security, [{ writeToken: [] }, { basicToken: [] }]);
    assert.deepEqual(rb.requestBody.content['application/json'].schema.required, ['branch', 'to']);
    assert.ok(doc.paths['/api/v1/rulesets/{name}'].get.parameters.some((p: { name: string; in: string }) => p.name === 'name' && p.in === 'path'));
    for (const [object, path] of [['set', '/api/v1/rulesets/{name}/sets/{family}/{table}/{set}/elements'], ['map', '/api/v1/rulesets/{name}/maps/{family}/{table}/{map}/elements']] as const) {
      const el = doc.paths[path].post;
      assert.deepEqual(el.security, [{ writeToken: [] }, { basicToken: [] }], path);
      assert.deepEqual(el.parameters.map((p: { name: string; in: string }) => `${p.in} ${p.name}`).sort(), ['path name', 'path family', 'path table', `path ${object}`, 'query branch'].sort());
      assert.deepEqual(Object.keys(el.requestBody.content['application/json'].schema.properties), ['add', 'delete']);
    }
  });
});
