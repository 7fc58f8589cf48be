import fc from 'fast-check';
import { AddressNotAllowedError, addressProblem, checkedAddress, classifyAddress, type Resolver } from './address-guard';

/** A resolver of the test's: names mapped to what a DNS server (or a rebinding attacker) would answer. */
const answers: Record<string, string[]> = {
  'public.example': ['93.184.216.34'],
  'v6.example': ['2001:4860:4860::8888'],
  'internal.example': ['10.1.2.3'],
  'metadata.example': ['169.254.169.254'],
  'rebind.example': ['93.184.216.34', '127.0.0.1'],
  'rebind6.example': ['2606:4700:4700::1111', '::1'],
  'mapped.example': ['::ffff:10.0.0.1'],
  'multicast.example': ['224.0.0.251'],
  'localhost.example': ['127.0.0.1', '::1'],
  'nat64.example': ['64:ff9b::5db8:d822'],
  'nothing.example': [],
};
const resolver: Resolver = async (name) => {
  const list = answers[name];
  if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

/** The host of a URL as the WHATWG parser leaves it: every IPv4 notation becomes dotted decimal. */
const hostOf = (url: string) => new URL(url).hostname;

type Rule = 'allowed' | 'private' | 'never';

/**
 * [target, range the reason names, rule]: `allowed` always, `private` only with allowPrivate,
 * `never` in no case. A target is an address literal, a URL (to go through the URL parser's
 * notations) or a name the test resolver answers.
 */
const TABLE: [string, string, Rule][] = [
  // IPv4
  ['8.8.8.8', 'public', 'allowed'],
  ['93.184.216.34', 'public', 'allowed'],
  ['172.32.0.1', 'public', 'allowed'],
  ['100.128.0.1', 'public', 'allowed'],
  ['127.0.0.1', 'loopback', 'private'],
  ['127.255.255.254', 'loopback', 'private'],
  ['10.0.0.5', 'private', 'private'],
  ['172.16.0.1', 'private', 'private'],
  ['172.31.255.255', 'private', 'private'],
  ['192.168.1.20', 'private', 'private'],
  ['100.64.0.1', 'carrier-grade NAT', 'private'],
  ['169.254.169.254', 'link-local', 'never'],
  ['0.0.0.0', 'unspecified', 'never'],
  ['0.1.2.3', 'unspecified', 'never'],
  ['255.255.255.255', 'broadcast', 'never'],
  ['224.0.0.1', 'multicast', 'never'],
  ['239.255.255.250', 'multicast', 'never'],
  ['192.0.0.8', 'reserved', 'never'],
  ['192.0.2.1', 'reserved', 'never'],
  ['198.18.0.1', 'reserved', 'never'],
  ['198.19.255.254', 'reserved', 'never'],
  ['198.51.100.7', 'reserved', 'never'],
  ['203.0.113.9', 'reserved', 'never'],
  ['240.0.0.1', 'reserved', 'never'],
  ['192.88.99.1', 'reserved', 'never'],
  ['192.31.196.1', 'AS112', 'never'],
  ['192.52.193.1', 'AMT', 'never'],
  // IPv4 in other notations, through the URL parser
  ['http://2130706433/', 'loopback', 'private'],
  ['http://0x7f.1/', 'loopback', 'private'],
  ['http://017700000001/', 'loopback', 'private'],
  ['http://127.1/', 'loopback', 'private'],
  ['http://0300.0250.0.1/', 'private', 'private'],
  ['http://0xa9fea9fe/', 'link-local', 'never'],
  // IPv6
  ['::1', 'loopback', 'private'],
  ['http://[0:0:0:0:0:0:0:1]/', 'loopback', 'private'],
  ['::', 'unspecified', 'never'],
  ['::ffff:127.0.0.1', 'IPv4-mapped 127.0.0.1, loopback', 'private'],
  ['http://[::ffff:7f00:1]/', 'IPv4-mapped 127.0.0.1, loopback', 'private'],
  ['::ffff:169.254.169.254', 'IPv4-mapped 169.254.169.254, link-local', 'never'],
  ['::ffff:8.8.8.8', 'IPv4-mapped 8.8.8.8, public', 'allowed'],
  ['::127.0.0.1', 'IPv4-compatible', 'never'],
  ['::ffff:0:7f00:1', 'IPv4-translated', 'never'],
  ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1, loopback', 'never'],
  ['64:ff9b::a00:5', 'NAT64 of 10.0.0.5, private', 'never'],
  ['64:ff9b::808:808', 'NAT64 of 8.8.8.8, public', 'allowed'],
  ['64:ff9b:1::1', 'NAT64', 'never'],
  ['2002:7f00:1::', '6to4', 'never'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo', 'never'],
  ['fe80::1', 'link-local', 'never'],
  ['fc00::1', 'unique local', 'private'],
  ['fd12:3456:789a::1', 'unique local', 'private'],
  ['fec0::1', 'site-local', 'never'],
  ['ff02::1', 'multicast', 'never'],
  ['2001:db8::1', 'reserved', 'never'],
  ['2001:2::1', 'benchmarking', 'never'],
  ['100::1', 'discard-only', 'never'],
  ['5f00::1', 'segment routing', 'never'],
  ['4000::1', 'unallocated', 'never'],
  ['2001:4860:4860::8888', 'public', 'allowed'],
  ['2606:4700:4700::1111', 'public', 'allowed'],
  // Names, resolved by the test's resolver: every address they resolve to is checked
  ['public.example', 'public', 'allowed'],
  ['v6.example', 'public', 'allowed'],
  ['nat64.example', 'public', 'allowed'],
  ['internal.example', 'private', 'private'],
  ['localhost.example', 'loopback', 'private'],
  ['mapped.example', 'IPv4-mapped 10.0.0.1, private', 'private'],
  ['metadata.example', 'link-local', 'never'],
  ['multicast.example', 'multicast', 'never'],
  ['rebind.example', 'loopback', 'private'],
  ['rebind6.example', 'loopback', 'private'],
];

/**
 * Every literal of the table again, as a name the test resolver answers with it: each range is
 * reached through DNS too (the check must not depend on how the address was written).
 */
const NAMED: [string, string, Rule][] = TABLE.filter(
  ([target]) => /^[0-9a-f:.]+$/i.test(target) && (target.includes(':') || /^\d/.test(target)),
).map(([literal, range, rule], i) => {
  answers[`literal-${i}.example`] = [literal];
  return [`literal-${i}.example`, range, rule];
});

describe('the address rule: every target, with and without --allow-private', () => {
  const target = (t: string) => (t.startsWith('http') ? hostOf(t) : t);

  it(`covers at least 40 targets (${TABLE.length} written, ${NAMED.length} more as names)`, () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(40);
    expect(NAMED.length).toBeGreaterThanOrEqual(40);
  });

  it.each([...TABLE, ...NAMED])('%s is %s: %s', async (raw, range, rule) => {
    const host = target(raw);
    for (const allowPrivate of [false, true]) {
      const allowed = rule === 'allowed' || (rule === 'private' && allowPrivate);
      const checked = checkedAddress(host, { allowPrivate }, resolver);
      if (allowed) {
        await expect(checked).resolves.toMatchObject({ address: expect.any(String) });
      } else {
        const error = await checked.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(AddressNotAllowedError);
        const message = (error as Error).message;
        expect(message).toMatch(/^address not allowed: \S+ \(/);
        expect(message).toContain(`(${range})`);
        expect(message).toContain(rule === 'never' ? 'no webhook is ever sent to such an address' : 'needs a subscription that allows it');
      }
    }
  });

  it('refuses a name whose first address is public when a later one is not (DNS rebinding)', async () => {
    await expect(checkedAddress('rebind.example', { allowPrivate: false }, resolver)).rejects.toThrow(
      'address not allowed: 127.0.0.1 (loopback): a loopback or private endpoint needs a subscription that allows it (`pipeline webhooks add --allow-private`, `pipeline webhooks set NAME --allow-private`, or WEBHOOK_ALLOW_PRIVATE_ENDPOINTS=true) (rebind.example resolves to it)',
    );
  });

  it('connects to the first address it checked', async () => {
    await expect(checkedAddress('rebind.example', { allowPrivate: true }, resolver)).resolves.toEqual({
      address: '93.184.216.34',
      family: 4,
    });
    await expect(checkedAddress('[::1]', { allowPrivate: true }, resolver)).resolves.toEqual({ address: '::1', family: 6 });
  });

  it('sends plain http only to loopback and private addresses', async () => {
    await expect(checkedAddress('public.example', { allowPrivate: true, privateOnly: true }, resolver)).rejects.toThrow(
      'address not allowed: 93.184.216.34 (public): plain http:// goes only to loopback and private addresses; use https://',
    );
    await expect(checkedAddress('internal.example', { allowPrivate: true, privateOnly: true }, resolver)).resolves.toBeDefined();
  });

  it('fails, not allows, a name with no address or none at all', async () => {
    await expect(checkedAddress('nothing.example', { allowPrivate: true }, resolver)).rejects.toThrow(
      'nothing.example resolves to no address',
    );
    await expect(checkedAddress('unknown.example', { allowPrivate: true }, resolver)).rejects.toThrow('ENOTFOUND');
  });

  it('gives up on a resolver that never answers', async () => {
    const never: Resolver = () => new Promise(() => undefined);
    await expect(checkedAddress('slow.example', { allowPrivate: true }, never, 50)).rejects.toThrow(
      'resolving slow.example took longer than 50 ms',
    );
  });

  it('says so for something that is not an address', () => {
    expect(addressProblem('not-an-ip', { allowPrivate: true })).toBe('address not allowed: "not-an-ip" is not an IP address');
  });
});

/** Random addresses inside a range, written in each notation the URL parser and ipaddr.js read. */
describe('the address rule, on random addresses of every range', () => {
  const v4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  const inRange = (cidr: string) => {
    const [base = '', bits = '32'] = cidr.split('/');
    const start = base.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - Number(bits));
    return fc.integer({ min: 0, max: size - 1 }).map((offset) => start + offset);
  };
  /** The same IPv4 address in every notation the guard may meet it in. */
  const notations = (n: number): string[] => [
    v4(n),
    hostOf(`http://${n}/`),
    hostOf(`http://0x${n.toString(16)}/`),
    hostOf(`http://${v4(n).replace(/\d+/g, (o) => `0${Number(o).toString(8)}`)}/`),
    `::ffff:${v4(n)}`,
    hostOf(`http://[::ffff:${v4(n)}]/`),
  ];
  const V4_RANGES: [string, Rule][] = [
    ['127.0.0.0/8', 'private'],
    ['10.0.0.0/8', 'private'],
    ['172.16.0.0/12', 'private'],
    ['192.168.0.0/16', 'private'],
    ['100.64.0.0/10', 'private'],
    ['169.254.0.0/16', 'never'],
    ['0.0.0.0/8', 'never'],
    ['224.0.0.0/4', 'never'],
    ['240.0.0.0/4', 'never'],
    ['198.18.0.0/15', 'never'],
    ['192.0.2.0/24', 'never'],
    ['198.51.100.0/24', 'never'],
    ['203.0.113.0/24', 'never'],
  ];

  it.each(V4_RANGES)('%s, in every notation, is %s', (cidr, rule) => {
    fc.assert(
      fc.property(inRange(cidr), (n) => {
        for (const written of notations(n)) {
          expect(addressProblem(written, { allowPrivate: false })).toBeDefined();
          expect(addressProblem(written, { allowPrivate: true }) === undefined).toBe(rule === 'private');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('public IPv4 addresses, in every notation, are allowed', () => {
    const special = V4_RANGES.map(([cidr]) => cidr).concat([
      '192.0.0.0/24',
      '192.88.99.0/24',
      '192.31.196.0/24',
      '192.52.193.0/24',
      '192.175.48.0/24',
    ]);
    const inside = (n: number) =>
      special.some((cidr) => {
        const [base = '', bits = '32'] = cidr.split('/');
        const start = base.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
        return n >= start && n < start + 2 ** (32 - Number(bits));
      });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }).filter((n) => !inside(n)),
        (n) => {
          for (const written of notations(n)) expect(addressProblem(written, { allowPrivate: false })).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  const v6In = (prefix: number[], bits: number) =>
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((parts) => {
      const out = parts.map((part, i) => {
        const fixed = Math.max(0, Math.min(16, bits - i * 16));
        const mask = fixed === 0 ? 0 : (0xffff << (16 - fixed)) & 0xffff;
        return ((prefix[i] ?? 0) & mask) | (part & ~mask & 0xffff);
      });
      return out.map((p) => p.toString(16)).join(':');
    });
  const V6_RANGES: [string, number[], number, Rule][] = [
    ['fc00::/7', [0xfc00], 7, 'private'],
    ['fe80::/10', [0xfe80], 10, 'never'],
    ['fec0::/10', [0xfec0], 10, 'never'],
    ['ff00::/8', [0xff00], 8, 'never'],
    ['2001:db8::/32', [0x2001, 0xdb8], 32, 'never'],
    ['2002::/16', [0x2002], 16, 'never'],
    ['2001::/32', [0x2001, 0], 32, 'never'],
    ['64:ff9b:1::/48', [0x64, 0xff9b, 1], 48, 'never'],
    ['100::/64', [0x100, 0, 0, 0], 64, 'never'],
  ];

  it.each(V6_RANGES)('%s is %s, written compressed or in full', (_name, prefix, bits, rule) => {
    fc.assert(
      fc.property(v6In(prefix, bits), (full) => {
        for (const written of [full, hostOf(`http://[${full}]/`)]) {
          expect(addressProblem(written, { allowPrivate: false })).toBeDefined();
          expect(addressProblem(written, { allowPrivate: true }) === undefined).toBe(rule === 'private');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('classifies every well-formed address without throwing, and refuses what is not one', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (address) => {
        expect(['public', 'loopback', 'private', 'special']).toContain(classifyAddress(address).kind);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(typeof (addressProblem(text, { allowPrivate: false }) ?? 'allowed')).toBe('string');
      }),
    );
  });
});
