/**
 * The shape of a JSON Schema check that ajv compiled at build time (scripts/generate-validators.ts
 * writes them: ruleset-validator.ts, message-validators.ts, state-file-validator.ts): true when
 * the value matches; otherwise false, with the first error in `errors` (ajv's ErrorObject:
 * instancePath, keyword, params, message).
 */
import type { ErrorObject } from 'ajv';

export type SchemaValidator = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null };
