/**
 * Command-line parsing shared by every subcommand: flags declared once per command, an
 * optional YAML `--config FILE` whose keys are the long flag names, flags overriding the file.
 * Usage errors are NFTSYNC_ERR_USAGE (exit 2).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { NftSyncError } from '../shared/errors.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  required?: boolean;
  default?: string | boolean;
  description: string;
  /**
   * A string flag whose value may be left out (`--watch` or `--watch 5`): given alone, it takes
   * this value. A following word is taken as its value only when it does not start with `-`.
   */
  valueIfBare?: string;
}

export type Flags = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, string | boolean | undefined>;

/** What parseCommandLine found besides the values. */
export interface ParsedCommandLine {
  values: ParsedFlags;
  positionals: string[];
  /** Keys of the --config file that belong to a sibling command and were ignored. */
  ignoredConfigKeys: string[];
}

/**
 * Parse `argv` against `flags`, reading `--config FILE` first when given. Returns the values and
 * the positional arguments (exactly as many as `positionals` names, or at least as many as the
 * names before a last one ending in `...`). `siblingFlags`: flags of the commands that share a config file with
 * this one (`agent` and `pull`): their keys in the file are ignored (and listed), not refused.
 * Throws NFTSYNC_ERR_USAGE for an unknown flag or config key, a missing required flag, a wrong
 * type, or an unreadable config file.
 */
export function parseCommandLine(command: string, argv: string[], flags: Flags, positionals: string[] = [], siblingFlags: Flags = {}): ParsedCommandLine {
  const options: Record<string, { type: 'string' | 'boolean' }> = { config: { type: 'string' }, help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(flags)) options[name] = { type: spec.type };
  for (const [name, spec] of Object.entries(flags)) if (spec.type === 'boolean') options[`no-${name}`] = { type: 'boolean' };
  let parsed;
  try {
    parsed = parseArgs({ args: normaliseArgv(argv, flags), options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: ${parseArgsMessage(command, err as Error & { code?: string })}`);
  }
  const values: ParsedFlags = {};
  for (const [name, spec] of Object.entries(flags)) if (spec.default !== undefined) values[name] = spec.default;
  const ignoredConfigKeys: string[] = [];
  if (typeof parsed.values.config === 'string') Object.assign(values, readConfig(command, parsed.values.config, flags, siblingFlags, ignoredConfigKeys));
  for (const [name, v] of Object.entries(parsed.values)) {
    if (name === 'config') continue;
    if (name.startsWith('no-') && flags[name.slice(3)]) values[name.slice(3)] = !v;
    else values[name] = v as string | boolean;
  }
  if (values.help) return { values, positionals: parsed.positionals, ignoredConfigKeys };
  for (const [name, spec] of Object.entries(flags)) {
    if (spec.required && (values[name] === undefined || values[name] === '')) {
      throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: --${name} is required (${spec.description})`);
    }
  }
  // A last positional written `NAME...` takes any number of words, none included.
  const rest = positionals.at(-1)?.endsWith('...') === true;
  const fixed = rest ? positionals.length - 1 : positionals.length;
  if (rest ? parsed.positionals.length < fixed : parsed.positionals.length !== fixed) {
    const want = positionals.length ? positionals.join(' ') : 'no positional arguments';
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: expected ${want}, got ${parsed.positionals.length ? parsed.positionals.join(' ') : 'none'}`);
  }
  return { values, positionals: parsed.positionals, ignoredConfigKeys };
}

/**
 * Rewrite what node's parseArgs would misread: a string flag followed by a negative number
 * (`--confirm-window -1`, which parseArgs calls ambiguous) becomes `--confirm-window=-1`, so
 * the flag's own range check answers; a `valueIfBare` flag given alone gets that value.
 */
function normaliseArgv(argv: string[], flags: Flags): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const spec = arg.startsWith('--') && !arg.includes('=') ? flags[arg.slice(2)] : undefined;
    const next = argv[i + 1];
    if (spec?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else if (spec?.type === 'string' && spec.valueIfBare !== undefined && (next === undefined || next.startsWith('-'))) {
      out.push(`${arg}=${spec.valueIfBare}`);
    } else out.push(arg);
  }
  return out;
}

function readConfig(command: string, file: string, flags: Flags, siblingFlags: Flags, ignored: string[]): ParsedFlags {
  let doc: unknown;
  try {
    // Loaded only when a --config file is given: a daemon started without one does not carry it.
    const { parse: parseYaml } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: cannot read --config ${file}: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new NftSyncError('NFTSYNC_ERR_USAGE', `${command}: --config ${file} must be a YAML mapping of flag names to values`);
  const out: ParsedFlags = {};
  for (const [key, value] of Object.entries(doc)) {
    const spec = flags[key];
    if (!spec && Object.hasOwn(siblingFlags, key)) {
      // One file for `agent` and `pull`: a setting only the other command has is not an error.
      ignored.push(key);
      continue;
    }
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
