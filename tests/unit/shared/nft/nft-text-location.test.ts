import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { objectAtLine } from '../../../../shared/nft/nft-text-location.js';

const TEXT = `#!/usr/sbin/nft -f
define lan = 192.0.2.0/24
table inet filter {
  comment "main; table"
  set blocked {
    type ipv4_addr; flags interval
    elements = { 10.0.0.0/8,
                 172.16.0.0/12 }
  }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept # first rule
    ip saddr @blocked drop; tcp dport 22 accept
    ip saddr {
      192.0.2.1,
      192.0.2.2
    } jump ssh
  }
  chain ssh { accept; }
}
add rule inet filter input counter
add rule inet filter input drop
add element inet filter blocked { 10.1.0.0/16 }
table ip nat {
}
`;

describe('objectAtLine', () => {
  test('names the table, chain, set or rule (counted in its chain) a line belongs to', () => {
    const cases: Array<[number, string | undefined]> = [
      [1, undefined],
      [2, undefined],
      [3, 'table inet filter'],
      [4, 'table inet filter'],
      [5, 'set inet filter blocked'],
      [6, 'set inet filter blocked'],
      [8, 'set inet filter blocked'],
      [10, 'chain inet filter input'],
      [11, 'chain inet filter input'],
      [12, 'rule 1 of chain inet filter input'],
      [13, 'rule 2 of chain inet filter input'],
      [14, 'rule 4 of chain inet filter input'],
      [16, 'rule 4 of chain inet filter input'],
      [17, 'rule 4 of chain inet filter input'],
      [19, 'chain inet filter ssh'],
      [21, 'rule 1 of chain inet filter input'],
      [22, 'rule 2 of chain inet filter input'],
      [23, 'set inet filter blocked'],
      [24, 'table ip nat'],
      [99, undefined],
    ];
    for (const [line, want] of cases) assert.equal(objectAtLine(TEXT, line), want, `line ${line}`);
  });

  test('a table without family is ip; a chain without a table is not named', () => {
    assert.equal(objectAtLine('table t {\n  chain c {\n    accept\n  }\n}\n', 3), 'rule 1 of chain ip t c');
    assert.equal(objectAtLine('chain c {\n  accept\n}\n', 2), undefined);
  });
});
