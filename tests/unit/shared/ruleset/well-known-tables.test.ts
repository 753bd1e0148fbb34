import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TableRef } from '../../../../shared/ruleset/ruleset-types.js';
import { wellKnownTableOwner, wellKnownTableWarnings } from '../../../../shared/ruleset/well-known-tables.js';

const t = (family: string, name: string): TableRef => ({ family, name }) as TableRef;

describe('wellKnownTableOwner', () => {
  test('names the tool behind each well-known table, by family and exact name', () => {
    const cases: Array<[TableRef, string | undefined]> = [
      [t('inet', 'f2b-table'), 'fail2ban'],
      [t('ip', 'nat'), 'iptables-nft (Docker, ufw, …)'],
      [t('ip6', 'filter'), 'iptables-nft (Docker, ufw, …)'],
      [t('ip', 'docker-bridges'), 'Docker (nftables backend)'],
      [t('inet', 'firewalld'), 'firewalld'],
      [t('ip', 'kube-proxy'), 'kube-proxy (nftables mode)'],
      [t('ip6', 'kube-proxy'), 'kube-proxy (nftables mode)'],
      [t('bridge', 'filter'), 'ebtables-nft'],
      [t('ip', 'wg-quick-wg0'), 'wg-quick (WireGuard)'],
      // Not theirs: another family, a longer or shorter name, a bare prefix.
      [t('inet', 'nat'), undefined],
      [t('inet', 'filter'), undefined],
      [t('ip', 'nat2'), undefined],
      [t('inet', 'f2b'), undefined],
      [t('ip', 'wg-quick-'), undefined],
      [t('inet', 'nft_sync'), undefined],
    ];
    for (const [table, owner] of cases) assert.equal(wellKnownTableOwner(table), owner, `${table.family} ${table.name}`);
  });

  test('wellKnownTableWarnings: one warning per such table, naming table and tool', () => {
    const w = wellKnownTableWarnings([t('inet', 'nft_sync'), t('inet', 'f2b-table'), t('ip', 'kube-proxy')]);
    assert.equal(w.length, 2);
    assert.match(w[0]!, /^table inet f2b-table is a name fail2ban uses: .*refuses to replace that table unless told to adopt it/);
    assert.match(w[1]!, /^table ip kube-proxy is a name kube-proxy \(nftables mode\) uses/);
  });
});
