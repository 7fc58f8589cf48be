import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses a webhook may be sent to. Every address is one of:
 * - `public`: global unicast, always allowed;
 * - `loopback` or `private` (RFC 1918, carrier-grade NAT, IPv6 unique local): only for a
 *   subscription added with `--allow-private`, or with WEBHOOK_ALLOW_PRIVATE_ENDPOINTS=true;
 * - `special`: every other IANA special-purpose range (unspecified, broadcast, multicast,
 *   link-local with the cloud metadata address 169.254.169.254, documentation, benchmarking,
 *   reserved, 6to4, Teredo, IPv4-compatible, unallocated IPv6 …): never.
 * The ranges come from ipaddr.js. An IPv4-mapped address is judged by the IPv4 address it
 * carries; so is a NAT64 address of the well-known prefix (64:ff9b::/96, which DNS64 networks
 * hand out for IPv4-only hosts), except that one carrying anything but a public address is never
 * allowed (it would reach the translator's own network, not ours).
 */
export type AddressKind = 'public' | 'loopback' | 'private' | 'special';

export interface AddressClass {
  kind: AddressKind;
  /** The range's name as people write it, e.g. `private`, `link-local`, `NAT64 of 127.0.0.1, loopback`. */
  range: string;
}

/** Names of ipaddr.js's ranges, as an operator reads them. */
const RANGE_NAMES: Readonly<Record<string, string>> = {
  unicast: 'public',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
  as112: 'AS112',
  amt: 'AMT',
  uniqueLocal: 'unique local',
  ipv4Mapped: 'IPv4-mapped',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
  benchmarking: 'benchmarking',
  as112v6: 'AS112',
  deprecatedOrchid: 'ORCHID',
  orchid2: 'ORCHIDv2',
  droneRemoteIdProtocolEntityTags: 'drone remote ID',
  segmentRouting: 'segment routing',
};

/** Ranges allowed at all, and when: everything not listed is `special`. */
const KINDS: Readonly<Record<string, AddressKind>> = {
  unicast: 'public',
  loopback: 'loopback',
  private: 'private',
  carrierGradeNat: 'private',
  uniqueLocal: 'private',
};

const nameOf = (range: string): string => RANGE_NAMES[range] ?? range;

function classifyV4(address: ipaddr.IPv4): AddressClass {
  const range = address.range();
  return { kind: KINDS[range] ?? 'special', range: nameOf(range) };
}

/** The well-known NAT64 prefix; the local-use one (64:ff9b:1::/48) embeds addresses in ways only its network knows. */
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');

function classifyV6(address: ipaddr.IPv6): AddressClass {
  if (address.isIPv4MappedAddress()) {
    const inner = address.toIPv4Address();
    const of = classifyV4(inner);
    return { kind: of.kind, range: `IPv4-mapped ${inner.toString()}, ${of.range}` };
  }
  if (address.match(NAT64)) {
    const [, , , , , , high = 0, low = 0] = address.parts;
    const inner = ipaddr.fromByteArray([high >> 8, high & 0xff, low >> 8, low & 0xff]) as ipaddr.IPv4;
    const of = classifyV4(inner);
    return { kind: of.kind === 'public' ? 'public' : 'special', range: `NAT64 of ${inner.toString()}, ${of.range}` };
  }
  const range = address.range();
  if (range === 'unicast') {
    // ::a.b.c.d, the deprecated IPv4-compatible form (RFC 4291 2.5.5.1): never routed, never allowed.
    if (address.parts.slice(0, 6).every((part) => part === 0)) return { kind: 'special', range: 'IPv4-compatible' };
    // Global unicast is 2000::/3; IANA has allocated nothing else.
    if (((address.parts[0] ?? 0) & 0xe000) !== 0x2000) return { kind: 'special', range: 'unallocated' };
  }
  return { kind: KINDS[range] ?? 'special', range: nameOf(range) };
}

/**
 * An IPv6 literal as Node (and the URL standard) reads it. ipaddr.js reads `::1.2.3.4` (the
 * IPv4-compatible form) as `::ffff:1.2.3.4`, which is not the address a socket would connect to.
 */
function canonicalV6(text: string): string {
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return text;
  }
}

/** What an IP address literal is; throws when it is not one. */
export function classifyAddress(text: string): AddressClass {
  const bare = text.replace(/^\[|\]$/g, '');
  const parsed = ipaddr.parse(bare.includes(':') ? canonicalV6(bare) : bare);
  return parsed.kind() === 'ipv4' ? classifyV4(parsed as ipaddr.IPv4) : classifyV6(parsed as ipaddr.IPv6);
}

/** Whether loopback and private addresses may be connected to. */
export interface AddressPolicy {
  allowPrivate: boolean;
  /** Plain http:// is allowed only to loopback and private addresses: a public one is refused. */
  privateOnly?: boolean;
}

/** Why `address` may not be connected to under `policy`, or undefined when it may. */
export function addressProblem(address: string, policy: AddressPolicy): string | undefined {
  let found: AddressClass;
  try {
    found = classifyAddress(address);
  } catch {
    return `address not allowed: ${JSON.stringify(address)} is not an IP address`;
  }
  const shown = `address not allowed: ${address} (${found.range})`;
  if (found.kind === 'special') return `${shown}: no webhook is ever sent to such an address`;
  if (found.kind === 'public') {
    return policy.privateOnly ? `${shown}: plain http:// goes only to loopback and private addresses; use https://` : undefined;
  }
  if (policy.allowPrivate) return undefined;
  return `${shown}: a loopback or private endpoint needs a subscription that allows it (\`pipeline webhooks add --allow-private\`, \`pipeline webhooks set NAME --allow-private\`, or WEBHOOK_ALLOW_PRIVATE_ENDPOINTS=true)`;
}

/** An address a name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has; tests inject their own. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system's resolver (getaddrinfo: /etc/hosts, then DNS), every address in its order. */
export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** A connection refused by the address rule: the delivery is dead, since a retry resolves the same way. */
export class AddressNotAllowedError extends Error {
  readonly code = 'ADDRESS_NOT_ALLOWED';

  constructor(message: string) {
    super(message);
    this.name = 'AddressNotAllowedError';
  }
}

/** Resolving took longer than this: the connection fails (and is retried) rather than wait on DNS. */
const RESOLVE_TIMEOUT_MS = 5_000;

/**
 * The address to connect to for `host`: every address it resolves to is checked (one that is not
 * allowed refuses the whole name, whatever order DNS gave them in), and the first is returned, so
 * the connection goes to an address that was checked and a name cannot change in between.
 */
export async function checkedAddress(
  host: string,
  policy: AddressPolicy,
  resolver: Resolver = systemResolver,
  timeoutMs = RESOLVE_TIMEOUT_MS,
): Promise<ResolvedAddress> {
  const bare = host.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family !== 0) {
    const problem = addressProblem(bare, policy);
    if (problem) throw new AddressNotAllowedError(problem);
    return { address: bare, family: family === 6 ? 6 : 4 };
  }
  let timer: NodeJS.Timeout | undefined;
  const addresses = await Promise.race([
    resolver(bare),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`resolving ${bare} took longer than ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (addresses.length === 0) throw new Error(`${bare} resolves to no address`);
  for (const { address } of addresses) {
    const problem = addressProblem(address, policy);
    if (problem) throw new AddressNotAllowedError(`${problem} (${bare} resolves to it)`);
  }
  return addresses[0] as ResolvedAddress;
}
