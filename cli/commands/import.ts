import { readFile, writeFile } from 'node:fs/promises';
import { NftSyncError } from '../../shared/errors.js';
import { importRuleset } from '../../server/tools.js';
import { str, type Command } from '../command.js';

export const importCommand: Command = {
  name: 'import',
  summary: 'Turn an nft-syntax ruleset FILE into the repository\'s JSON form (as root: loads it into a scratch namespace).',
  positionals: ['FILE'],
  flags: {
    output: { type: 'string', description: 'write the JSON here (e.g. rulesets/web.json) instead of stdout' },
  },
  async run(values, [file]) {
    let text: string;
    try {
      text = await readFile(file!, 'utf8');
    } catch (cause) {
      throw new NftSyncError('NFTSYNC_ERR_USAGE', `import: cannot read ${file}: ${(cause as Error).message}`, { cause });
    }
    let imported;
    try {
      imported = await importRuleset(text, file);
    } catch (err) {
      // nft's own display (source line, ^^^ under the fault) on its lines, before the error line.
      const display = err instanceof NftSyncError ? err.data?.display : undefined;
      if (typeof display === 'string' && display !== '') process.stderr.write(`${display}\n`);
      throw err;
    }
    const { ruleset, warnings } = imported;
    for (const w of warnings) process.stderr.write(`nft-sync: warning: ${w}\n`);
    const json = `${JSON.stringify(ruleset, null, 2)}\n`;
    const output = str(values, 'output');
    if (output === undefined) process.stdout.write(json);
    else {
      try {
        await writeFile(output, json);
      } catch (cause) {
        throw new NftSyncError('NFTSYNC_ERR_USAGE', `import: cannot write --output ${output}: ${(cause as Error).message}`, { cause });
      }
    }
    return 0;
  },
};
