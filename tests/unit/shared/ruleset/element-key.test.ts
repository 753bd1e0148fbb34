import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { declaredElementId, fieldHex, formatIpv6, kernelElements, setShape, type SetShape } from '../../../../shared/ruleset/element-key.js';

const ipv4: SetShape = { fields: ['ipv4_addr'], interval: false };
const ipv4iv: SetShape = { fields: ['ipv4_addr'], interval: true };

test('set shapes: plain, concatenated, interval; maps and the rest refused with a reason', () => {
  assert.deepEqual(setShape({ type: 'ipv4_addr' }), { ok: true, value: ipv4 });
  assert.deepEqual(setShape({ type: 'ipv4_addr', flags: ['interval'] }), { ok: true, value: ipv4iv });
  assert.deepEqual(setShape({ type: ['ipv4_addr', 'inet_service'] }), { ok: true, value: { fields: ['ipv4_addr', 'inet_service'], interval: false } });
  for (const [body, reason] of [
    [{ type: 'ipv4_addr', map: 'verdict' }, /map/],
    [{ type: 'integer' }, /type/],
    [{ type: ['ipv4_addr', 'inet_service'], flags: ['interval'] }, /concatenated ranges/],
    [{ type: 'ipv4_addr', flags: ['interval'], 'auto-merge': true }, /auto-merge/],
  ] as const) {
    const r = setShape(body as Record<string, unknown>);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, reason);
  }
});

test('kernel keys render as libnftables JSON values (layout as measured on kernel 6.18)', () => {
  const table: Array<[SetShape, string, unknown]> = [
    [ipv4, 'c0000207', '192.0.2.7'],
    [{ fields: ['ipv6_addr'], interval: false }, '20010db8000000000000000000000001', '2001:db8::1'],
    [{ fields: ['inet_service'], interval: false }, '01bb', 443],
    [{ fields: ['inet_proto'], interval: false }, '06', 6],
    [{ fields: ['ether_addr'], interval: false }, '0a0b0c0d0e0f', '0a:0b:0c:0d:0e:0f'],
    // Concatenations pad each field to 4 bytes: ipv4_addr . inet_service = 01020304 0050 0000.
    [{ fields: ['ipv4_addr', 'inet_service'], interval: false }, '0102030400500000', { concat: ['1.2.3.4', 80] }],
  ];
  for (const [shape, hex, value] of table) {
    const r = kernelElements(shape, [{ k: hex }]);
    assert.ok(r.ok, hex);
    if (r.ok) assert.deepEqual(r.value, [{ id: hex, value }]);
  }
  const wrong = kernelElements(ipv4, [{ k: '0102' }]);
  assert.equal(wrong.ok, false);
  assert.equal(kernelElements(ipv4, [{ k: '01020304', d: true }]).ok, false, 'map data');
});

test('interval sets: start and end elements pair into ranges; nft\'s zero end is dropped', () => {
  // As nft 1.0.6 loads { 10.0.0.0/24, 192.168.1.5 }: an end at zero, then start/end pairs.
  const r = kernelElements(ipv4iv, [{ k: '00000000', f: 1 }, { k: '0a000000' }, { k: '0a000100', f: 1 }, { k: 'c0a80105' }, { k: 'c0a80106', f: 1 }]);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.deepEqual(r.value, [
    { id: '0a000000-0a0000ff', value: { prefix: { addr: '10.0.0.0', len: 24 } } },
    { id: 'c0a80105-c0a80105', value: '192.168.1.5' },
  ]);
  const range = kernelElements(ipv4iv, [{ k: '0a000005' }, { k: '0a00000a', f: 1 }]);
  assert.ok(range.ok);
  if (range.ok) assert.deepEqual(range.value, [{ id: '0a000005-0a000009', value: { range: ['10.0.0.5', '10.0.0.9'] } }]);
  const top = kernelElements(ipv4iv, [{ k: 'ff000000' }]);
  assert.ok(top.ok);
  if (top.ok) assert.deepEqual(top.value, [{ id: 'ff000000-ffffffff', value: { prefix: { addr: '255.0.0.0', len: 8 } } }]);
  assert.equal(kernelElements(ipv4iv, [{ k: '0a000100', f: 1 }]).ok, false, 'an end without its start');
  const ports = kernelElements({ fields: ['inet_service'], interval: true }, [{ k: '0400' }, { k: '0801', f: 1 }]);
  assert.ok(ports.ok);
  if (ports.ok) assert.deepEqual(ports.value[0]!.value, { range: [1024, 2048] });
});

test('declared elements reach the same ids as the kernel keys', () => {
  assert.equal(declaredElementId(ipv4, '192.0.2.7'), 'c0000207');
  assert.equal(declaredElementId(ipv4, { elem: { val: '192.0.2.7', timeout: 60 } }), 'c0000207');
  assert.equal(declaredElementId(ipv4, '192.0.2.256'), undefined);
  assert.equal(declaredElementId(ipv4, 'example.org'), undefined);
  const v6 = { fields: ['ipv6_addr'], interval: false } as SetShape;
  assert.equal(declaredElementId(v6, '2001:DB8:0:0::1'), '20010db8000000000000000000000001');
  assert.equal(declaredElementId(v6, '::ffff:192.0.2.1'), '00000000000000000000ffffc0000201');
  assert.equal(declaredElementId(v6, '1::2::3'), undefined);
  assert.equal(declaredElementId(ipv4iv, '10.0.0.0/24'), '0a000000-0a0000ff');
  assert.equal(declaredElementId(ipv4iv, { prefix: { addr: '10.0.0.0', len: 24 } }), '0a000000-0a0000ff');
  assert.equal(declaredElementId(ipv4iv, { range: ['10.0.0.5', '10.0.0.9'] }), '0a000005-0a000009');
  assert.equal(declaredElementId(ipv4iv, '192.168.1.5'), 'c0a80105-c0a80105');
  assert.equal(declaredElementId({ fields: ['ipv4_addr', 'inet_service'], interval: false }, { concat: ['1.2.3.4', 80] }), '0102030400500000');
  assert.equal(declaredElementId({ fields: ['inet_service'], interval: false }, 'ssh'), undefined, 'service names are not resolved');
  assert.equal(declaredElementId({ fields: ['inet_proto'], interval: false }, 'tcp'), '06');
});

test('IPv6 text is RFC 5952', () => {
  const b = (hex: string) => Buffer.from(hex, 'hex');
  assert.equal(formatIpv6(b('00000000000000000000000000000000')), '::');
  assert.equal(formatIpv6(b('00000000000000000000000000000001')), '::1');
  assert.equal(formatIpv6(b('20010db8000000010000000000000001')), '2001:db8:0:1::1');
  assert.equal(formatIpv6(b('20010db8000100010001000100010001')), '2001:db8:1:1:1:1:1:1');
  assert.equal(formatIpv6(b('20010db8000000000001000000000001')), '2001:db8::1:0:0:1');
});

test('an IPv4 address is read as four numbers of one to three digits, each at most 255, and nothing else (against the regular expression it replaced, over random strings)', () => {
  const byRegex = (s: string): string | undefined => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (!m || m.slice(1).some((x) => Number(x) > 255)) return undefined;
    return m.slice(1).map((x) => Number(x).toString(16).padStart(2, '0')).join('');
  };
  const piece = fc.oneof(fc.constantFrom('.', '0', '9', '25', '255', '256', '0001', '/', ' ', 'a', '\u0661', '-1', ''), fc.nat(999).map(String));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 9 }), (parts) => {
      const s = parts.join('');
      assert.equal(fieldHex('ipv4_addr', s), byRegex(s), JSON.stringify(s));
    }),
    { numRuns: 20_000, seed: 4 },
  );
  assert.equal(fieldHex('ipv4_addr', '198.18.0.1'), 'c6120001');
  assert.equal(fieldHex('ipv4_addr', '010.000.0.255'), '0a0000ff');
});
