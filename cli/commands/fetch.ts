import { WireClient } from '../../agent/wire/wire-client.js';
import { parseHostPort } from '../../shared/wire/host-port.js';
import { MAX_RULESET_BYTES_FLAG, maxRulesetBytes } from '../agent-flags.js';
import { clientToken, TOKEN_FLAG } from '../client-token.js';
import { str, type Command } from '../command.js';
import { clientTlsOptions, loadTlsMaterial, nameFromCertificate, TLS_FLAGS } from '../tls-flags.js';

export const fetchCommand: Command = {
  name: 'fetch',
  summary: 'Print the ruleset JSON at REF, byte for byte as stored.',
  flags: {
    server: { type: 'string', required: true, description: 'HOST:PORT of the wire protocol' },
    ref: { type: 'string', required: true, description: 'branch, tag or commit id' },
    ruleset: { type: 'string', description: 'ruleset name (rulesets/NAME.json); default: chosen by nft-sync.yaml for --name' },
    name: { type: 'string', description: 'agent name used to choose the ruleset from nft-sync.yaml (default: under TLS the name the certificate carries, when exactly one; else none, so "default")' },
    ...TLS_FLAGS,
    ...TOKEN_FLAG,
    'max-ruleset-bytes': MAX_RULESET_BYTES_FLAG,
  },
  async run(values) {
    const { host, port } = parseHostPort(str(values, 'server')!, '--server');
    const material = loadTlsMaterial(values);
    const client = await WireClient.connect({ host, port, agent: str(values, 'name') ?? nameFromCertificate(values), tls: material ? clientTlsOptions(material, host) : undefined, token: clientToken(values), maxRulesetBytes: maxRulesetBytes(values) });
    try {
      const res = await client.fetch({ ref: str(values, 'ref')!, ruleset: str(values, 'ruleset') });
      if (res.kind !== 'ruleset') throw new Error('unexpected answer');
      await new Promise<void>((resolve, reject) => process.stdout.write(res.bytes, (err) => (err ? reject(err) : resolve())));
      process.stderr.write(`# ${res.ruleset} at ${res.commit} (blob ${res.blob})\n`);
    } finally {
      client.close();
    }
    return 0;
  },
};
