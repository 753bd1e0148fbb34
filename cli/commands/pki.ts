import { NftSyncError } from '../../shared/errors.js';
import { initPki, issueCertificate } from '../../server/tools.js';
import { str, type Command } from '../command.js';

export const pkiCommand: Command = {
  name: 'pki',
  summary: 'init: make a CA in --dir; issue: issue NAME.crt/NAME.key for an agent (or with --server, a server host name or IP).',
  positionals: ['init|issue'],
  flags: {
    dir: { type: 'string', required: true, description: 'directory of the CA (ca.crt, ca.key) and issued certificates' },
    name: { type: 'string', description: 'issue: agent name, or the server\'s host name or IP address with --server' },
    server: { type: 'boolean', default: false, description: 'issue: a server certificate (serverAuth, name in subjectAltName)' },
  },
  async run(values, [action]) {
    const dir = str(values, 'dir')!;
    if (action === 'init') {
      const { cert, key } = await initPki(dir);
      process.stdout.write(`CA ${cert} (key ${key})\n`);
      return 0;
    }
    if (action === 'issue') {
      const name = str(values, 'name');
      if (!name) throw new NftSyncError('NFTSYNC_ERR_USAGE', 'pki issue: --name is required');
      const { cert, key } = await issueCertificate(dir, name, { server: values.server === true });
      process.stdout.write(`issued ${cert} (key ${key})\n`);
      return 0;
    }
    throw new NftSyncError('NFTSYNC_ERR_USAGE', `pki: expected init or issue, got ${JSON.stringify(action)}`);
  },
};
