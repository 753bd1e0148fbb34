/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the routes as fastify registered them
 * (their JSON schemas for path, query and body), so the document cannot drift from the server.
 */
import { ERRORS } from '../../shared/errors.js';

export interface RegisteredRoute {
  method: string;
  url: string;
  write: boolean;
  schema?: {
    summary?: string;
    description?: string;
    tags?: string[];
    params?: { properties?: Record<string, unknown>; required?: string[] };
    querystring?: { properties?: Record<string, unknown>; required?: string[] };
    body?: Record<string, unknown>;
  };
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'retryable'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERRORS) },
        message: { type: 'string' },
        retryable: { type: 'boolean' },
        data: { type: 'object' },
      },
    },
  },
};

/** `/api/v1/rulesets/:name` -> `/api/v1/rulesets/{name}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(where: 'path' | 'query', schema: { properties?: Record<string, unknown>; required?: string[] } | undefined): unknown[] {
  return Object.entries(schema?.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (schema?.required ?? []).includes(name),
    schema: s,
    ...((s as { description?: string }).description ? { description: (s as { description: string }).description } : {}),
  }));
}

/** Build the document from `routes` (every method except HEAD). Pure. */
export function buildOpenApi(routes: readonly RegisteredRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
    const op: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${openApiPath(r.url).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: r.schema?.summary ?? `${r.method} ${r.url}`,
      ...(r.schema?.description ? { description: r.schema.description } : {}),
      ...(r.schema?.tags ? { tags: r.schema.tags } : {}),
      parameters: [...parameters('path', r.schema?.params), ...parameters('query', r.schema?.querystring)],
      responses: {
        [r.write ? '201' : '200']: { description: 'success' },
        default: { description: 'any failure: the one error shape, with the catalogue HTTP status', content: { 'application/json': { schema: ERROR_SCHEMA } } },
      },
    };
    if (r.schema?.body) op.requestBody = { required: true, content: { 'application/json': { schema: r.schema.body } } };
    if (r.write) op.security = [{ bearer: [] }];
    (paths[openApiPath(r.url)] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'nft-sync', version: '1', description: 'Rulesets, revisions, diffs, agents and rollback of an nft-sync server. Every failure answers {"error":{code,message,retryable,data}}.' },
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token of the server\'s --token-file' } } },
  };
}

// The documentation keys routes carry in their schema (as @fastify/swagger users write them).
declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
  }
}
