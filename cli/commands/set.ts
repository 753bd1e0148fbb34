/**
 * `nft-sync set add|del`: add or delete elements of a set or map through the server's element
 * API (POST /api/v1/rulesets/NAME/sets/FAMILY/TABLE/SET/elements), as one commit whose author is
 * the owner of the token in NFT_SYNC_TOKEN.
 */
import { readFileSync } from 'node:fs';
import { elementFromText, elementsFromFile } from '../../shared/ruleset/element-text.js';
import { NftSyncError } from '../../shared/errors.js';
import type { ElementsAnswer, FoldAnswer } from '../../shared/http/http-api.js';
import { callApi } from '../api-client.js';
import { str, type Command } from '../command.js';
import { countFlag } from '../seconds-flag.js';
import { CLI_DEFAULTS } from '../defaults.js';

/** An element change can wait on the push validator loading a big set: give it time. */
const CHANGE_TIMEOUT_MS = CLI_DEFAULTS.setChangeTimeoutMs;

export const setCommand: Command = {
  name: 'set',
  summary:
    'add|del ELEMENT...: add or delete elements of a set or map as one commit on a branch (prints the commit id). Elements as nft writes them (198.18.0.1, 198.18.0.0/24, "198.18.0.1 . 80", "198.18.0.1 : drop") or as libnftables JSON; --file FILE for one a line. fold: write the ruleset\'s element change files (rulesets/NAME.elements/) into rulesets/NAME.json (before editing it by hand or tagging a signed release). Token from NFT_SYNC_TOKEN.',
  positionals: ['add|del|fold', 'ELEMENT...'],
  flags: {
    http: { type: 'string', required: true, description: 'the server\'s HTTP address, e.g. http://127.0.0.1:8080' },
    ruleset: { type: 'string', required: true, description: 'ruleset name (rulesets/NAME.json)' },
    set: { type: 'string', description: 'add, del: FAMILY/TABLE/SET, e.g. inet/filter/blocklist (a map too)' },
    branch: { type: 'string', default: 'main', description: 'branch to change' },
    timeout: { type: 'string', description: 'add: seconds after which nft removes each added element (the set needs flags timeout)' },
    file: { type: 'string', description: 'read the elements from FILE, one a line (blank lines and # comments ignored; - for stdin)' },
  },
  async run(values, [action, ...words]) {
    if (action === 'fold') return fold(values, words);
    if (action !== 'add' && action !== 'del') throw new NftSyncError('NFTSYNC_ERR_USAGE', `set: expected add, del or fold, got ${JSON.stringify(action)}`);
    const spec = str(values, 'set');
    if (spec === undefined) throw new NftSyncError('NFTSYNC_ERR_USAGE', `set ${action}: --set FAMILY/TABLE/SET is required`);
    const parts = spec.split('/');
    if (parts.length !== 3 || parts.some((p) => p === '')) throw new NftSyncError('NFTSYNC_ERR_USAGE', `set: --set ${JSON.stringify(spec)} is not FAMILY/TABLE/SET, e.g. inet/filter/blocklist`);
    const timeoutText = str(values, 'timeout');
    if (timeoutText !== undefined && action === 'del') throw new NftSyncError('NFTSYNC_ERR_USAGE', 'set del: --timeout goes with add');
    const timeout = timeoutText === undefined ? undefined : countFlag(timeoutText, '--timeout', 1, 365 * 86_400);
    const file = str(values, 'file');
    if ((file === undefined) === (words.length === 0)) throw new NftSyncError('NFTSYNC_ERR_USAGE', `set ${action}: give the elements as arguments or --file FILE (one of the two)`);
    let elements: unknown[];
    if (file !== undefined) {
      let text: string;
      try {
        text = readFileSync(file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new NftSyncError('NFTSYNC_ERR_USAGE', `set: cannot read --file ${file}: ${(err as Error).message}`);
      }
      elements = elementsFromFile(text, file, timeout);
      if (elements.length === 0) throw new NftSyncError('NFTSYNC_ERR_USAGE', `set: --file ${file} holds no element`);
    } else elements = words.map((w, i) => elementFromText(w, `element ${i + 1}`, timeout));
    const [family, table, name] = parts.map(encodeURIComponent) as [string, string, string];
    const branch = str(values, 'branch')!;
    const path = `/api/v1/rulesets/${encodeURIComponent(str(values, 'ruleset')!)}/sets/${family}/${table}/${name}/elements?branch=${encodeURIComponent(branch)}`;
    const r = await callApi<ElementsAnswer>(str(values, 'http')!, 'POST', path, action === 'add' ? { add: elements } : { delete: elements }, CHANGE_TIMEOUT_MS);
    process.stdout.write(`${r.commit}\n`);
    if (r.commit === r.previous) process.stderr.write(`# ${r.branch}: nothing changed (${action === 'add' ? 'every element already present' : 'no element present'}); ${r.commit.slice(0, 12)} stays\n`);
    else process.stderr.write(`# ${r.branch}: ${r.previous.slice(0, 12)} -> ${r.commit.slice(0, 12)}: ${r.kind} ${parts.join(' ')}: ${r.added} added, ${r.deleted} deleted\n`);
    return 0;
  },
};

/** `set fold`: POST /api/v1/rulesets/NAME/elements/fold; prints the commit id. */
async function fold(values: Parameters<Command['run']>[0], words: string[]): Promise<number> {
  if (words.length > 0 || str(values, 'set') !== undefined || str(values, 'file') !== undefined || str(values, 'timeout') !== undefined) {
    throw new NftSyncError('NFTSYNC_ERR_USAGE', 'set fold: takes only --http, --ruleset and --branch');
  }
  const branch = str(values, 'branch')!;
  const path = `/api/v1/rulesets/${encodeURIComponent(str(values, 'ruleset')!)}/elements/fold?branch=${encodeURIComponent(branch)}`;
  const r = await callApi<FoldAnswer>(str(values, 'http')!, 'POST', path, undefined, CHANGE_TIMEOUT_MS);
  process.stdout.write(`${r.commit}\n`);
  if (r.folded === 0) process.stderr.write(`# ${r.branch}: no element change files to fold; ${r.commit.slice(0, 12)} stays\n`);
  else process.stderr.write(`# ${r.branch}: ${r.previous.slice(0, 12)} -> ${r.commit.slice(0, 12)}: ${r.folded} element change file${r.folded === 1 ? '' : 's'} folded into rulesets/${str(values, 'ruleset')!}.json\n`);
  return 0;
}
