/**
 * NFTSYNC_ERR_API_INVALID_REQUEST from a schema check that failed (fastify's ajv errors), naming
 * the parameter or field at fault: `query limit: must be <= 1000`, `body /add/3: must be string`,
 * `body /to: is required`. Query, path and header values are named by their name; body fields by
 * their JSON pointer, since a body nests.
 */
import { NftSyncError } from '../../shared/errors.js';

/** The parts of an ajv error this reads. */
export interface SchemaViolation {
  instancePath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** fastify's validation contexts, as a person calls them. */
const PLACE: Record<string, string> = { querystring: 'query', params: 'path parameter', headers: 'header', body: 'body' };

/** `/a~1b/0` -> the pointer with the property a `required` or `additionalProperties` error names. */
function pointerOf(v: SchemaViolation): string {
  const prop = v.params?.missingProperty ?? v.params?.additionalProperty;
  const extra = typeof prop === 'string' ? `/${prop.replace(/~/g, '~0').replace(/\//g, '~1')}` : '';
  return `${v.instancePath ?? ''}${extra}`;
}

function reason(v: SchemaViolation, body: boolean): string {
  if (v.keyword === 'required') return 'is required';
  if (v.keyword === 'additionalProperties') return body ? 'is not a known field' : 'is not a known parameter';
  return v.message ?? 'does not match the schema';
}

/** One violation as `PLACE NAME: why`. */
export function describeViolation(context: string, v: SchemaViolation): { where: string; at: string; text: string } {
  const body = context === 'body';
  const pointer = pointerOf(v);
  const name = body ? pointer : pointer.replace(/^\//, '').replace(/~1/g, '/').replace(/~0/g, '~');
  const where = PLACE[context] ?? context;
  const text = name === '' ? `${where}: ${reason(v, body)}` : `${where} ${name}: ${reason(v, body)}`;
  return { where, at: body && name === '' ? '/' : name, text };
}

/**
 * The error for `violations` of the schema of `context` (fastify's validationContext:
 * querystring, params, headers or body). data: `{in, parameter | field, errors: [{at, message}]}`.
 */
export function invalidRequest(context: string | undefined, violations: readonly SchemaViolation[]): NftSyncError {
  const ctx = context ?? 'request';
  const described = violations.map((v) => describeViolation(ctx, v));
  const first = described[0];
  const message = `${described.map((d) => d.text).join('; ') || `${ctx}: does not match the schema`} (GET /api/v1/openapi.json has every route's parameters and body)`;
  const data: Record<string, unknown> = { in: ctx, errors: described.map((d, i) => ({ at: d.at, path: violations[i]!.instancePath, message: d.text })) };
  if (first !== undefined) data[ctx === 'body' ? 'field' : 'parameter'] = first.at;
  return new NftSyncError('NFTSYNC_ERR_API_INVALID_REQUEST', message, { data });
}
