/**
 * Command-line parsing shared by every subcommand: flags declared once per command, an
 * optional YAML `--config FILE` whose keys are the long flag names, flags overriding the file.
 * Usage errors are NFTSYNC_ERR_USAGE (exit 2).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { NftSyncError } from '../shared/errors.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  required?: boolean;
  default?: string | boolean;
  description: string;
}

export type Flags = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, string | boolean | undefined>;

/**
 * Parse `argv` against `flags`, reading `--config FILE` first when given. Returns the values and
 * the positional arguments. Throws NFTSYNC_ERR_USAGE for an unknown flag, a missing required
 * one, a wrong type, or an unreadable config file.
 */
export function parseCommandLine(command: string, argv: string[], flags: Flags, positionals: string[] = []): { values: ParsedFlags; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean' }> = { config: { type: 'string' }, help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(flags)) options[name] = { type: spec.type };
  for (const [name, spec] of Object.entries(flags)) if (spec.type === 'boolean') options[`no-${name}`] = { type: 'boolean' };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: ${parseArgsMessage(command, err as Error & { code?: string })}`);
  }
  const values: ParsedFlags = {};
  for (const [name, spec] of Object.entries(flags)) if (spec.default !== undefined) values[name] = spec.default;
  if (typeof parsed.values.config === 'string') Object.assign(values, readConfig(command, parsed.values.config, flags));
  for (const [name, v] of Object.entries(parsed.values)) {
    if (name === 'config') continue;
    if (name.startsWith('no-') && flags[name.slice(3)]) values[name.slice(3)] = !v;
    else values[name] = v as string | boolean;
  }
  if (values.help) return { values, positionals: parsed.positionals };
  for (const [name, spec] of Object.entries(flags)) {
    if (spec.required && (values[name] === undefined || values[name] === '')) {
      throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: --${name} is required (${spec.description})`);
    }
  }
  if (parsed.positionals.length !== positionals.length) {
    const want = positionals.length ? positionals.join(' ') : 'no positional arguments';
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: expected ${want}, got ${parsed.positionals.length ? parsed.positionals.join(' ') : 'none'}`);
  }
  return { values, positionals: parsed.positionals };
}

function readConfig(command: string, file: string, flags: Flags): ParsedFlags {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: cannot read --config ${file}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: --config ${file} must be a YAML mapping of flag names to values`);
  const out: ParsedFlags = {};
  for (const [key, value] of Object.entries(doc)) {
    const spec = flags[key];
    if (!spec) throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: --config ${file}: unknown setting ${JSON.stringify(key)}`);
    if (spec.type === 'boolean' ? typeof value !== 'boolean' : typeof value !== 'string' && typeof value !== 'number') {
      throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: --config ${file}: ${key} must be a ${spec.type}`);
    }
    out[key] = spec.type === 'boolean' ? (value as boolean) : String(value);
  }
  return out;
}

/** Render the help text of a command. */
export function helpText(command: string, summary: string, flags: Flags, positionals: string[] = []): string {
  const lines = [`usage: nft-sync ${command}${positionals.map((p) => ` ${p}`).join('')} [flags]`, '', summary, '', 'flags:'];
  for (const [name, spec] of Object.entries(flags)) {
    const arg = spec.type === 'string' ? ` ${name.toUpperCase().replace(/-/g, '_')}` : '';
    const extra = spec.required ? ' (required)' : spec.default !== undefined ? ` (default: ${String(spec.default)})` : '';
    const left = `  --${name}${arg} `;
    // A flag too long for the column gets its description on the next line, still aligned.
    lines.push(left.length > 34 ? `${left.trimEnd()}\n${' '.repeat(34)}${spec.description}${extra}` : left.padEnd(34) + spec.description + extra);
  }
  lines.push('  --config FILE'.padEnd(34) + 'YAML file of flag values (flags given override it)');
  return lines.join('\n');
}

/**
 * Node's parseArgs message for a flag we do not know suggests `--` for positionals, which is no
 * help to an operator who mistyped a flag: name the flag and where the list of flags is instead.
 */
function parseArgsMessage(command: string, err: Error & { code?: string }): string {
  const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec(err.message) : null;
  if (unknown) return `unknown flag ${unknown[1]} (nft-sync ${command} --help lists the flags)`;
  return err.message;
}
