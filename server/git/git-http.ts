/**
 * Git smart HTTP at `/git/rules.git`: clone, fetch and push with the stock git client, served by
 * git's own `git http-backend` (a CGI program) behind fastify.
 *
 * Why http-backend rather than a reimplementation: it speaks protocol v0 and v2, inflates gzip
 * request bodies (`HTTP_CONTENT_ENCODING`), runs the receive hooks (so the pre-receive validator
 * holds for HTTP pushes as for any other) and is the same code ssh pushes go through.
 *
 * Bodies are streamed both ways: the request body is piped to the CGI's stdin as it arrives (a
 * content-type parser in this plugin's scope hands fastify's raw request stream through), and
 * the CGI's stdout is piped to the client once its head (`Status:`, `Content-Type:` ...) has been
 * read. A pack of any size never sits in the server's memory.
 *
 * Authorisation: the API's rule (server/auth/access-policy.ts), pushes (`service=git-receive-pack`)
 * being writes and clones and fetches reads; a token comes as basic auth's password (any user
 * name) or `Bearer TOKEN`. A refusal for want of a token carries git's WWW-Authenticate challenge,
 * so the client asks its credential helper.
 *
 * Slots: reads (clone, fetch: `git-upload-pack`, open to anyone by default) and writes (pushes,
 * which passed the token check) are counted apart, so readers that hold every read slot, say by
 * announcing a body and never sending it, cannot make a push wait or fail. A request body that
 * sends nothing for `bodyIdleMs` is dropped and its git process stopped; a body still sending is
 * never cut however long it takes (server/http/http-timeouts.ts says why).
 */
import { spawn } from 'node:child_process';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Readable } from 'node:stream';
import { ERRORS, NftSyncError } from '../../shared/errors.js';
import type { TokenEntry } from '../../shared/config/token-list.js';
import { parseCgiHead } from './cgi-response.js';
import { HTTP_TIMEOUT_DEFAULTS, pipeWithIdleLimit } from '../http/http-timeouts.js';
import { authorise } from '../auth/access-policy.js';
import { errorAnswer } from '../http/routes/route-schema.js';
import { gitEnv } from '../../host/run-git.js';
import { SERVER_DEFAULTS } from '../defaults.js';

/** Where the repository is served. */
export const GIT_HTTP_PREFIX = '/git/rules.git';

/** The realm git shows when it asks for credentials. */
export const GIT_HTTP_REALM = 'nft-sync';

export interface GitHttpOptions {
  /** The git directory to serve (bare repository, or a work tree's `.git`). */
  gitdir: string;
  /** Tokens allowed to write; undefined means no token list: everything open. */
  tokens?: readonly TokenEntry[];
  /** Require a token for clone and fetch too (only with `tokens`). */
  readTokenRequired?: boolean;
  /**
   * Without `tokens`: whether anyone may push (true only when the HTTP listener is on loopback;
   * the same rule as the API's writes). Default false: pushes refused.
   */
  anonymousWrites?: boolean;
  /** The `git` executable (default `git`). */
  git?: string;
  /**
   * This server is a read-only replica of the primary at this URL (--mirror-of): every push is
   * refused with NFTSYNC_ERR_READ_ONLY_REPLICA naming it, before any credential check.
   */
  replicaOf?: string;
  /**
   * Most `git http-backend` processes serving reads at once (default 32). Each request holds one
   * (and a pack process under it) for as long as its client keeps the request open, and reads
   * need no token: past the cap a read gets 503 NFTSYNC_ERR_SERVER_BUSY instead of a process.
   */
  maxReadBackends?: number;
  /** The same for pushes, counted apart from reads and only once the pusher is authorised (default 8). */
  maxWriteBackends?: number;
  /** Drop a request body that sends nothing for this long (default HTTP_TIMEOUT_DEFAULTS.bodyIdleMs). */
  bodyIdleMs?: number;
}

/** Defaults of GitHttpOptions.maxReadBackends and maxWriteBackends. */
export const GIT_HTTP_MAX_BACKENDS = Object.freeze({ read: SERVER_DEFAULTS.http.gitReadBackends, write: SERVER_DEFAULTS.http.gitWriteBackends });

/** The smart-protocol endpoints; nothing else (no dumb protocol, no file access) is served. */
const SERVICES = new Set(['git-upload-pack', 'git-receive-pack']);

/** The refusal of a write sent to a replica of `primary`, naming it (in `data.primary` too). */
export function readOnlyReplica(primary: string): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_READ_ONLY_REPLICA', `this server is a read-only replica of ${primary}: push and write there`, { data: { primary } });
}

/**
 * The fastify plugin (register it without fastify-plugin so its content-type parser stays in
 * its own scope): GET `info/refs?service=...`, POST `git-upload-pack` and `git-receive-pack`.
 * Answers 401 NFTSYNC_ERR_AUTH_REQUIRED with `WWW-Authenticate: Basic realm="nft-sync"` when a
 * token is needed and missing or unknown, 400 NFTSYNC_ERR_USAGE for `info/refs` without a smart
 * service (the dumb protocol is not served), 503 NFTSYNC_ERR_SERVER_BUSY when the request's
 * slots (read or write) are all taken, 502 when http-backend fails before answering.
 */
export async function gitHttpPlugin(app: FastifyInstance, opts: GitHttpOptions): Promise<void> {
  // Hand the raw request stream to the route instead of buffering or parsing it.
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  const running = { read: 0, write: 0 };
  const max = { read: opts.maxReadBackends ?? GIT_HTTP_MAX_BACKENDS.read, write: opts.maxWriteBackends ?? GIT_HTTP_MAX_BACKENDS.write };
  const bodyIdleMs = opts.bodyIdleMs ?? HTTP_TIMEOUT_DEFAULTS.bodyIdleMs;

  const handle = async (req: FastifyRequest, reply: FastifyReply, pathInfo: string): Promise<void> => {
    const query = new URL(req.url, 'http://x').searchParams;
    const service = pathInfo === '/info/refs' ? query.get('service') ?? '' : pathInfo.slice(1);
    if (!SERVICES.has(service)) {
      await reply.status(ERRORS.NFTSYNC_ERR_USAGE.status).send({ error: new NftSyncError('NFTSYNC_ERR_USAGE', `only git smart HTTP is served here (${service || 'no service'} requested)`).toJSON() });
      return;
    }
    const write = service === 'git-receive-pack';
    if (write && opts.replicaOf !== undefined) {
      // Plain text: git shows a text/plain error body to the person pushing, as `remote: ...`.
      const e = readOnlyReplica(opts.replicaOf);
      req.log.info({ service }, 'push refused: this server is a read-only replica');
      await reply.status(ERRORS[e.code].status).header('content-type', 'text/plain; charset=utf-8').send(`nft-sync: ${e.code}: ${e.message}\n`);
      return;
    }
    let user: string;
    try {
      user = authorise(opts, { write, host: req.headers.host, authorization: req.headers.authorization, via: 'git' });
    } catch (err) {
      const e = err as NftSyncError;
      if (e.code === 'NFTSYNC_ERR_AUTH_REQUIRED') {
        req.log.warn({ service, given: e.data?.given }, 'git request refused: no valid token');
        reply.header('WWW-Authenticate', `Basic realm="${GIT_HTTP_REALM}"`);
      }
      await reply.status(ERRORS[e.code].status).send({ error: e.toJSON() });
      return;
    }
    const kind = write ? 'write' : 'read';
    if (running[kind] >= max[kind]) {
      req.log.warn({ service, running: running[kind], kind }, 'git request refused: too many git processes running');
      const e = new NftSyncError('NFTSYNC_ERR_SERVER_BUSY', `${running[kind]} git ${write ? 'pushes' : 'reads'} are running, the most this server runs at once: try again shortly`);
      await reply.status(ERRORS[e.code].status).header('retry-after', '5').send({ error: e.toJSON() });
      return;
    }
    reply.hijack();
    runBackend(req, reply, pathInfo, user, write);
  };

  const runBackend = (req: FastifyRequest, reply: FastifyReply, pathInfo: string, user: string, write: boolean): void => {
    const h = req.headers;
    const env: NodeJS.ProcessEnv = {
      ...gitEnv(),
      GIT_PROJECT_ROOT: opts.gitdir,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: pathInfo,
      REQUEST_METHOD: req.method,
      QUERY_STRING: req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '',
      CONTENT_TYPE: h['content-type'] ?? '',
      REMOTE_USER: user,
      REMOTE_ADDR: req.ip,
      // The token check above is the access control: let receive-pack run for whoever passed it.
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.receivepack',
      GIT_CONFIG_VALUE_0: write ? 'true' : 'false',
    };
    if (h['content-length'] !== undefined) env.CONTENT_LENGTH = String(h['content-length']);
    if (h['content-encoding'] !== undefined) env.HTTP_CONTENT_ENCODING = String(h['content-encoding']);
    if (h['git-protocol'] !== undefined) env.GIT_PROTOCOL = String(h['git-protocol']);
    const res = reply.raw;
    const child = spawn(opts.git ?? 'git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const kind = write ? 'write' : 'read';
    running[kind] += 1;
    let counted = true;
    const release = (): void => {
      if (counted) running[kind] -= 1;
      counted = false;
    };
    const body = req.body as Readable | undefined;
    if (body !== undefined && typeof body.pipe === 'function') {
      pipeWithIdleLimit(body, child.stdin, bodyIdleMs, () => {
        req.log.warn({ pathInfo, bodyIdleMs }, 'git request body stopped arriving: request dropped');
        child.kill('SIGTERM');
        res.destroy();
      });
    } else child.stdin.end();
    child.stdin.on('error', () => undefined); // the CGI may exit before reading everything
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 8192) stderr += c.toString('utf8');
    });
    let head = Buffer.alloc(0);
    let started = false;
    const fail = (why: string): void => {
      req.log.error({ why, stderr: stderr.slice(0, 2000) }, 'git http-backend failed');
      if (!res.headersSent) {
        const e = new NftSyncError('NFTSYNC_ERR_REPO_GIT_FAILED', `git http-backend failed: ${why}`);
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: e.toJSON() }));
      } else res.destroy();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (started) return;
      head = Buffer.concat([head, chunk]);
      let parsed;
      try {
        parsed = parseCgiHead(head);
      } catch (err) {
        child.kill('SIGKILL');
        return fail((err as Error).message);
      }
      if (parsed === undefined) return;
      started = true;
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of parsed.headers) {
        const prev = headers[k];
        headers[k] = prev === undefined ? v : ([] as string[]).concat(prev, v);
      }
      res.writeHead(parsed.status, headers);
      if (parsed.rest.length > 0) res.write(parsed.rest);
      child.stdout.pipe(res);
    });
    child.on('error', (err) => {
      release();
      fail(err.message);
    });
    child.on('close', (code, signal) => {
      release();
      if (!started) fail(`exited ${code ?? signal} without a response`);
      else if (stderr.trim() !== '') req.log.warn({ stderr: stderr.slice(0, 2000), code }, 'git http-backend stderr');
    });
    // A client that goes away must not leave a git process behind.
    res.on('close', () => {
      if (child.exitCode === null && child.signalCode === null && !res.writableFinished) child.kill('SIGTERM');
    });
  };

  const config = { ownAuth: true };
  // The schemas describe the protocol for the OpenAPI document; fastify does not check requests
  // against them (validatorCompiler): the handler checks credentials first, then http-backend
  // judges the protocol, and a stranger must get 401 before any 400 about the request.
  const validatorCompiler = () => () => true;
  app.get(`${GIT_HTTP_PREFIX}/info/refs`, { config, validatorCompiler, schema: GIT_ROUTE_SCHEMAS.infoRefs }, (req, reply) => handle(req, reply, '/info/refs'));
  for (const service of SERVICES) {
    app.post(`${GIT_HTTP_PREFIX}/${service}`, { config, validatorCompiler, schema: GIT_ROUTE_SCHEMAS[service as 'git-upload-pack' | 'git-receive-pack'] }, (req, reply) => handle(req, reply, `/${service}`));
  }
}

const binary = (description: string) => ({ schema: { type: 'string', format: 'binary', description } });
const gitErrors = {
  400: errorAnswer('NFTSYNC_ERR_USAGE: not a smart-protocol request (the dumb protocol is not served)'),
  401: errorAnswer('NFTSYNC_ERR_AUTH_REQUIRED: a token is needed (pushes; reads with --read-token-required) and none or a wrong one was given', {
    'www-authenticate': { type: 'string', description: 'Basic realm="nft-sync"' },
  }),
  403: errorAnswer('NFTSYNC_ERR_API_WRITES_DISABLED: a push without a --token-file, not from loopback'),
  502: errorAnswer('NFTSYNC_ERR_REPO_GIT_FAILED: git http-backend failed before answering'),
  503: errorAnswer('NFTSYNC_ERR_SERVER_BUSY: every read (or write) slot is taken', { 'retry-after': { type: 'string', description: 'seconds' } }),
  '4xx': errorAnswer('any other refusal'),
  '5xx': errorAnswer('a failure of the server'),
};
/** Clones and fetches need a token only with --read-token-required; pushes always (or loopback). */
const READ_SECURITY: Array<Record<string, string[]>> = [{}, { gitToken: [] }, { readToken: [] }];
const WRITE_SECURITY: Array<Record<string, string[]>> = [{ gitToken: [] }, { writeToken: [] }];

/** The git routes' schemas, for the OpenAPI document (content types as git's http-protocol.txt names them). */
const GIT_ROUTE_SCHEMAS: Record<'infoRefs' | 'git-upload-pack' | 'git-receive-pack', FastifySchema> = {
  infoRefs: {
    summary: 'git smart HTTP: the ref advertisement that starts a clone, fetch (service=git-upload-pack) or push (service=git-receive-pack)',
    tags: ['git'],
    security: [...READ_SECURITY, { writeToken: [] }],
    querystring: Type.Object({ service: Type.Unsafe<string>({ type: 'string', enum: [...SERVICES], description: 'the smart service; git-receive-pack needs write credentials' }) }),
    response: {
      200: {
        description: "the refs, in git's pkt-line format",
        content: {
          'application/x-git-upload-pack-advertisement': binary('service=git-upload-pack'),
          'application/x-git-receive-pack-advertisement': binary('service=git-receive-pack'),
        },
      },
      ...gitErrors,
    },
  },
  'git-upload-pack': {
    summary: 'git smart HTTP: fetch and clone (a pack of the objects asked for)',
    tags: ['git'],
    security: READ_SECURITY,
    body: { content: { 'application/x-git-upload-pack-request': binary('wants and haves, pkt-line; may be gzip-encoded (Content-Encoding)') } },
    response: { 200: { description: 'the pack', content: { 'application/x-git-upload-pack-result': binary('pkt-line with the pack') } }, ...gitErrors },
  },
  'git-receive-pack': {
    summary: 'git smart HTTP: push (the pre-receive validator judges every ref update)',
    tags: ['git'],
    security: WRITE_SECURITY,
    body: { content: { 'application/x-git-receive-pack-request': binary('ref updates and the pack, pkt-line') } },
    response: { 200: { description: "the push's report (refusals by the validator included)", content: { 'application/x-git-receive-pack-result': binary('pkt-line report-status') } }, ...gitErrors },
  },
};
