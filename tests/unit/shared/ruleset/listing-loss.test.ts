import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeLoss, listingLines, listingLosses, tornObjects } from '../../../../shared/ruleset/listing-loss.js';

/** `nft list ruleset` of a source with each loss (nft 1.0.6), and of its JSON form reloaded. */
const ORIGINAL = `table inet t {
	flags dormant
	comment "table c"

	set dyn {
		typeof ip saddr
		size 65535
		flags dynamic,timeout
		timeout 1s500ms
	}

	set am {
		type ipv4_addr
		flags interval
		auto-merge
		elements = { 10.0.0.0/24, 10.0.2.0/24 }
	}

	set cnt {
		type ipv4_addr
		counter
		elements = { 1.2.3.4 counter packets 3 bytes 180,
			     5.6.7.8 counter packets 0 bytes 0 }
	}

	set tmo {
		type ipv4_addr
		flags timeout
		elements = { 9.9.9.9 timeout 2s500ms expires 2s476ms }
	}

	chain c {
		comment "chain c"
		type filter hook input priority filter; policy accept;
		ip saddr @dyn counter packets 0 bytes 0 accept
	}
}
table ip gone {
	ct timeout tcp-short {
		protocol tcp
	}
}
`;
const RELOADED = `table inet t {
	set dyn {
		type ipv4_addr
		size 65535
		flags timeout
		timeout 1s
	}

	set am {
		type ipv4_addr
		flags interval
		elements = { 10.0.0.0/24, 10.0.2.0/24 }
	}

	set cnt {
		type ipv4_addr
		counter
		elements = { 1.2.3.4 counter packets 0 bytes 0, 5.6.7.8 counter packets 0 bytes 0 }
	}

	set tmo {
		type ipv4_addr
		flags timeout
		elements = { 9.9.9.9 timeout 2s expires 1s924ms }
	}

	chain c {
		type filter hook input priority filter; policy accept;
		ip saddr @dyn counter packets 0 bytes 0 accept
	}
}
table ip gone {
}
`;

describe('listingLosses', () => {
  test('names every line that differs, with its object: dormant, comments, typeof, dynamic, sub-second timeouts, auto-merge, counters', () => {
    assert.deepEqual(listingLosses(ORIGINAL, RELOADED).map(describeLoss), [
      'table inet t: "flags dormant" is lost',
      'table inet t: "comment \\"table c\\"" is lost',
      'set inet t dyn: "typeof ip saddr" comes back as "type ipv4_addr"',
      'set inet t dyn: "flags dynamic,timeout" comes back as "flags timeout"',
      'set inet t dyn: "timeout 1s500ms" comes back as "timeout 1s"',
      'set inet t am: "auto-merge" is lost',
      'set inet t cnt: "element 1.2.3.4 counter packets 3 bytes 180" comes back as "element 1.2.3.4 counter packets 0 bytes 0"',
      'set inet t tmo: "element 9.9.9.9 timeout 2s500ms" comes back as "element 9.9.9.9 timeout 2s"',
      'chain inet t c: "comment \\"chain c\\"" is lost',
      'ct timeout ip gone tcp-short: the whole object is lost',
    ]);
  });

  test('two listings of the same state agree, whatever the wrapping of elements and their expiry', () => {
    const wrapped = ORIGINAL.replace('10.0.0.0/24, 10.0.2.0/24', '10.0.0.0/24,\n\t\t\t     10.0.2.0/24').replace('expires 2s476ms', 'expires 1s');
    assert.deepEqual(listingLosses(ORIGINAL, wrapped), []);
    assert.deepEqual(listingLosses(RELOADED, RELOADED), []);
  });

  test('what the JSON form adds is named too; listingLines splits elements, quotes and braces respected', () => {
    const more = RELOADED.replace('\t\tflags timeout\n\t\ttimeout 1s', '\t\tflags timeout\n\t\ttimeout 1s\n\t\tgc-interval 1s');
    assert.deepEqual(listingLosses(RELOADED, more).map(describeLoss), ['set inet t dyn: "gc-interval 1s" appears']);
    const lines = listingLines('table ip x {\n\tmap m {\n\t\ttype ipv4_addr : verdict\n\t\telements = { 1.1.1.1 comment "a, b" : jump c, 2.2.2.2 : accept }\n\t}\n}\n');
    assert.deepEqual(lines.get('map ip x m'), ['(the object itself)', 'type ipv4_addr : verdict', 'element 1.1.1.1 comment "a, b" : jump c', 'element 2.2.2.2 : accept']);
  });

  test('tornObjects: a set listing an element twice', () => {
    assert.deepEqual(tornObjects(ORIGINAL), []);
    assert.deepEqual(tornObjects(ORIGINAL.replace('5.6.7.8 counter packets 0 bytes 0', '1.2.3.4 counter packets 3 bytes 180')), ['set inet t cnt']);
  });
});
