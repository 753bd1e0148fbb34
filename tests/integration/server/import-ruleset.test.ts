/**
 * `nft-sync import`: real nft in scratch namespaces. The imported JSON must apply with the
 * agent's own applyRuleset and read back without differences.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { applyRuleset } from '../../../agent/apply-ruleset.js';
import { createNftRunner } from '../../../agent/nft-runner.js';
import { parseRuleset } from '../../../shared/ruleset-schema.js';
import { importRuleset } from '../../../server/import-ruleset.js';
import { runCli } from '../../helpers/cli-process.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { createNetns } from '../../helpers/netns.js';

const NFT_TEXT = `
table inet filter {
  set blocked {
    type ipv4_addr
    flags interval
    elements = { 192.0.2.0/24, 198.51.100.7 }
  }
  map ports {
    type inet_service : verdict
    elements = { 22 : jump ssh }
  }
  counter web { }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    ip saddr @blocked drop
    tcp dport vmap @ports
    tcp dport 80 counter name web accept comment "web"
  }
  chain ssh {
    ip saddr 198.18.0.0/15 accept
  }
}
table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "lo" masquerade
  }
}
`;

function scratchNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('nft-sync-import-'));
}

describe('import', () => {
  test('an nft text file round-trips: import, apply with applyRuleset, no read-back differences', async (t) => {
    const { ruleset, warnings } = await importRuleset(NFT_TEXT);
    assert.deepEqual(warnings, []);
    const kinds = ruleset.nftables.map((i) => Object.keys(i)[0]);
    assert.equal(kinds[0], 'metainfo');
    assert.ok(kinds.indexOf('chain') < kinds.indexOf('map'), 'chains come before the verdict map that jumps to one');
    assert.ok(!JSON.stringify(ruleset).includes('"handle"'));
    parseRuleset(JSON.stringify(ruleset));
    const ns = createNetns(t, 'imp');
    const result = await applyRuleset({ nft: createNftRunner(ns.nftCommand), ruleset, verify: 'full' });
    assert.equal(result.readback.ok, true, result.readback.differences.join('\n'));
    assert.match(ns.nft(['list', 'chain', 'inet', 'filter', 'input']), /tcp dport 80 counter name "web" accept comment "web"/);
    assert.deepEqual(scratchNamespaces(), []);
  });

  test('what JSON cannot carry is a warning naming the object', async () => {
    const { warnings } = await importRuleset('table inet t {\n  chain c {\n    comment "kept?"\n    type filter hook input priority 0;\n  }\n}\n');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /chain inet t c: comment "kept\?" would be lost/);
  });

  test('nft refusing the text is NFTSYNC_ERR_NFT_APPLY with nft\'s message naming the file', async (t) => {
    await assert.rejects(importRuleset('table inet x {\n  chain y {\n    jump nowhere\n  }\n}\n', 'bad.nft'), (e: { code: string; message: string }) => {
      assert.equal(e.code, 'NFTSYNC_ERR_NFT_APPLY');
      assert.match(e.message, /bad\.nft:3:.*Error: Could not process rule: No such file or directory/);
      return true;
    });
    assert.deepEqual(scratchNamespaces(), []);
    const dir = tempDir(t);
    writeFileSync(join(dir, 'in.nft'), NFT_TEXT);
    const cli = await runCli(['import', join(dir, 'in.nft'), '--output', join(dir, 'out.json')]);
    assert.equal(cli.code, 0, cli.stderr);
    parseRuleset(readFileSync(join(dir, 'out.json')));
    const missing = await runCli(['import', join(dir, 'nope.nft')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /NFTSYNC_ERR_USAGE: import: cannot read/);
  });
});
