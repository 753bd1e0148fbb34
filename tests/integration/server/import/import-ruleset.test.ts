/**
 * `nft-sync import`: real nft in scratch namespaces. The imported JSON must apply with the
 * agent's own applyRuleset and read back without differences.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { applyRuleset } from '../../../../agent/reconcile/apply-ruleset.js';
import { createNftRunner } from '../../../../host/nft-runner.js';
import { parseRuleset } from '../../../../shared/ruleset/ruleset-schema.js';
import { importRuleset } from '../../../../server/import/import-ruleset.js';
import { runCli } from '../../../helpers/cli-process.js';
import { tempDir } from '../../../helpers/git-fixture.js';
import { createNetns } from '../../../helpers/netns.js';

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
    assert.deepEqual(warnings, ['chain inet t c: "comment \\"kept?\\"" is lost (nft\'s JSON form does not carry it)']);
  });

  // Each of these comes from real rulesets (Docker, OpenWrt, nftables' own test dumps) and was
  // lost without a word before: the text listings of the source and of the JSON form reloaded
  // in a second namespace are compared line by line.
  const LOSSES: Array<[string, string, string]> = [
    ['flags dynamic', 'set s {\n    type ipv4_addr\n    flags dynamic\n  }', 'set inet t s: "flags dynamic" is lost'],
    ['typeof', 'set s {\n    typeof ip saddr\n  }', 'set inet t s: "typeof ip saddr" comes back as "type ipv4_addr"'],
    ['auto-merge', 'set s {\n    type ipv4_addr\n    flags interval\n    auto-merge\n    elements = { 10.0.0.0/24 }\n  }', 'set inet t s: "auto-merge" is lost'],
    ['set counters', 'set s {\n    type ipv4_addr\n    counter\n    elements = { 192.0.2.1 counter packets 3 bytes 180 }\n  }', 'set inet t s: "element 192.0.2.1 counter packets 3 bytes 180" comes back as "element 192.0.2.1 counter packets 0 bytes 0"'],
    ['sub-second timeouts', 'set s {\n    type ipv4_addr\n    flags timeout\n    timeout 1500ms\n  }', 'set inet t s: "timeout 1s500ms" comes back as "timeout 1s"'],
    ['flags dormant', 'flags dormant', 'table inet t: "flags dormant" is lost'],
  ];
  for (const [name, body, warning] of LOSSES) {
    test(`import names a loss nft's JSON cannot carry: ${name}`, async () => {
      const { warnings } = await importRuleset(`table inet t {\n  ${body}\n}\n`);
      assert.deepEqual(warnings, [`${warning} (nft's JSON form does not carry it)`]);
      assert.deepEqual(scratchNamespaces(), []);
    });
  }

  test('a JSON form nft refuses to load back is a warning that names the object (found by dry runs)', async () => {
    const { warnings } = await importRuleset('table inet t {\n  ct expectation e {\n    protocol tcp\n    dport 22\n    timeout 1s\n    size 10\n    l3proto ip\n  }\n}\n');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^the JSON form does not load back into nft, so agents could not apply it: nft refuses it at ct expectation inet t e \(\/nftables\/\d+\): /);
  });

  test('nft refusing the text is NFTSYNC_ERR_NFT_APPLY with nft\'s message naming the file', async (t) => {
    await assert.rejects(importRuleset('table inet x {\n  chain y {\n    accept\n    jump nowhere\n  }\n}\n', 'bad.nft'), (e: { code: string; message: string; data: Record<string, unknown> }) => {
      assert.equal(e.code, 'NFTSYNC_ERR_NFT_APPLY');
      assert.equal(e.message, 'nft refuses rule 2 of chain inet x y (bad.nft line 4): Error: Could not process rule: No such file or directory');
      assert.deepEqual([e.data.line, e.data.object], [4, 'rule 2 of chain inet x y']);
      // nft's own display, caret marker under the fault, line by line.
      assert.equal(e.data.display, 'bad.nft:4:10-16: Error: Could not process rule: No such file or directory\n    jump nowhere\n         ^^^^^^^');
      return true;
    });
    assert.deepEqual(scratchNamespaces(), []);
    const dir = tempDir(t);
    writeFileSync(join(dir, 'in.nft'), NFT_TEXT);
    const cli = await runCli(['import', join(dir, 'in.nft'), '--output', join(dir, 'out.json')]);
    assert.equal(cli.code, 0, cli.stderr);
    parseRuleset(readFileSync(join(dir, 'out.json')));
    writeFileSync(join(dir, 'bad.nft'), 'table inet x {\n  set s {\n    type ipv4_addr\n    elements = { 192.0.2.1, 192.0.2.999 }\n  }\n}\n');
    const bad = await runCli(['import', join(dir, 'bad.nft')]);
    assert.equal(bad.code, 1);
    const lines = bad.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /bad\.nft:4:\d+-\d+: Error: /);
    assert.equal(lines[1], '    elements = { 192.0.2.1, 192.0.2.999 }');
    assert.match(lines[2]!, /^ +\^+$/);
    assert.match(lines[lines.length - 1]!, /^nft-sync: NFTSYNC_ERR_NFT_APPLY: nft refuses set inet x s \(.*bad\.nft line 4\): Error: /);
    const missing = await runCli(['import', join(dir, 'nope.nft')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /NFTSYNC_ERR_USAGE: import: cannot read/);
  });
});
