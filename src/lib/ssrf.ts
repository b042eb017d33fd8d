/**
 * SSRF guard for agent callback URLs (DESIGN.md §3.8): no loopback, private, link-local or otherwise
 * non-public destinations unless the operator allow-listed the host.
 *
 * Two stages:
 * - `checkCallbackUrl` (synchronous, at request time): syntax, scheme, userinfo, reserved names, and
 *   IP literals in any spelling (WHATWG `URL` canonicalises `0x7f.1`, `2130706433`, `127.1`,
 *   `0177.0.0.1` and `[::ffff:127.0.0.1]` before we look at them).
 * - `resolvePublicAddress` (at delivery time): resolves every address of the hostname and refuses if
 *   any is non-public (DNS rebinding), returning one address for the caller to pin the connection to.
 */
import { promises as dnsPromises } from 'node:dns';
import { isIP, isIPv4, isIPv6 } from 'node:net';

export type SsrfReason =
  'invalid_url' | 'scheme' | 'userinfo' | 'hostname' | 'private_address' | 'resolution_failed';

export class SsrfError extends Error {
  constructor(
    readonly reason: SsrfReason,
    message: string,
  ) {
    super(message);
    this.name = 'SsrfError';
  }
}

export interface CallbackUrlOptions {
  /** Hostnames or IPs (exact, case-insensitive) that may be private, e.g. an agent on the LAN. */
  readonly allowHosts?: readonly string[];
  /** Permit `http:` (default: https only). */
  readonly allowHttp?: boolean;
}

export type LookupFn = typeof dnsPromises.lookup;

export interface ResolveOptions {
  readonly allowHosts?: readonly string[];
  /** Injected for tests; defaults to `dns.promises.lookup`. */
  readonly lookup?: LookupFn;
}

// ---------------------------------------------------------------------------------------------
// Address classification

type Cidr4 = readonly [base: number, bits: number];

const v4 = (dotted: string): number => {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
};

/** Non-public IPv4 ranges (IANA special-purpose registry, plus multicast and reserved). */
const NON_PUBLIC_V4: readonly Cidr4[] = (
  [
    ['0.0.0.0', 8], // "this network"
    ['10.0.0.0', 8], // private
    ['100.64.0.0', 10], // carrier-grade NAT
    ['127.0.0.0', 8], // loopback
    ['169.254.0.0', 16], // link-local (cloud metadata lives here)
    ['172.16.0.0', 12], // private
    ['192.0.0.0', 24], // IETF protocol assignments
    ['192.0.2.0', 24], // TEST-NET-1
    ['192.168.0.0', 16], // private
    ['198.18.0.0', 15], // benchmarking
    ['198.51.100.0', 24], // TEST-NET-2
    ['203.0.113.0', 24], // TEST-NET-3
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, includes 255.255.255.255
  ] as const
).map(([base, bits]) => [v4(base), bits] as const);

function inCidr4(ip: number, [base, bits]: Cidr4): boolean {
  if (bits === 0) return true;
  const mask = (~0 << (32 - bits)) >>> 0;
  return (ip & mask) >>> 0 === (base & mask) >>> 0;
}

const isPublicV4 = (ip: number): boolean => !NON_PUBLIC_V4.some((cidr) => inCidr4(ip, cidr));

/** Parses a valid IPv6 literal (zone id allowed, ignored) into 16 bytes. */
function parseV6(ip: string): Uint8Array {
  const addr = ip.split('%')[0] ?? '';
  const out = new Uint8Array(16);
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const n = v4(piece);
        groups.push(n >>> 16, n & 0xffff);
      } else {
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const [head = '', tail] = addr.split('::');
  const h = groupsOf(head);
  const t = tail === undefined ? [] : groupsOf(tail);
  const groups = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  groups.forEach((g, i) => {
    out[i * 2] = g >>> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

const hasPrefix = (bytes: Uint8Array, prefix: readonly number[], bits: number): boolean => {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i / 8] ?? 0) & mask) !== ((prefix[i / 8] ?? 0) & mask)) return false;
  }
  return true;
};

const embeddedV4 = (bytes: Uint8Array, offset: number): number =>
  (((bytes[offset] ?? 0) << 24) |
    ((bytes[offset + 1] ?? 0) << 16) |
    ((bytes[offset + 2] ?? 0) << 8) |
    (bytes[offset + 3] ?? 0)) >>>
  0;

function isPublicV6(bytes: Uint8Array): boolean {
  // ::ffff:0:0/96 (v4-mapped) and ::ffff:0:0:0/96 (v4-translated): judge the embedded IPv4.
  if (hasPrefix(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96))
    return isPublicV4(embeddedV4(bytes, 12));
  if (hasPrefix(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 96))
    return isPublicV4(embeddedV4(bytes, 12));
  // 64:ff9b::/96 (NAT64 well-known prefix): the gateway would connect to the embedded IPv4.
  if (hasPrefix(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96))
    return isPublicV4(embeddedV4(bytes, 12));
  // 2002::/16 (6to4): the embedded IPv4 follows the prefix.
  if (hasPrefix(bytes, [0x20, 0x02], 16)) return isPublicV4(embeddedV4(bytes, 2));
  const nonPublic: readonly (readonly [readonly number[], number])[] = [
    [[], 96], // ::/96: unspecified, loopback, deprecated v4-compatible
    [[0, 0x64, 0xff, 0x9b, 0, 1], 48], // 64:ff9b:1::/48 local-use NAT64
    [[0x01, 0, 0, 0, 0, 0, 0, 0], 64], // 100::/64 discard-only
    [[0x20, 0x01, 0x0d, 0xb8], 32], // 2001:db8::/32 documentation
    [[0xfc], 7], // fc00::/7 unique local
    [[0xfe, 0x80], 10], // fe80::/10 link-local
    [[0xfe, 0xc0], 10], // fec0::/10 deprecated site-local
    [[0xff], 8], // ff00::/8 multicast
  ];
  return !nonPublic.some(([prefix, bits]) => hasPrefix(bytes, prefix, bits));
}

/**
 * True when `ip` (an IPv4 or IPv6 literal, no brackets) is a globally routable unicast address.
 * Anything that is not a valid IP literal is reported as not public.
 */
export function isPublicAddress(ip: string): boolean {
  if (isIPv4(ip)) return isPublicV4(v4(ip));
  if (isIPv6(ip)) return isPublicV6(parseV6(ip));
  return false;
}

// ---------------------------------------------------------------------------------------------
// Hostnames

const stripBrackets = (host: string): string =>
  host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;

/** Lower-case, no brackets, no trailing dot; IP literals in WHATWG canonical form. */
function canonicalHost(raw: string): string {
  let host = stripBrackets(raw.trim().toLowerCase()).replace(/\.+$/, '');
  try {
    host = stripBrackets(new URL(`http://${isIPv6(host) ? `[${host}]` : host}/`).hostname);
  } catch {
    // Not a valid host: keep the lower-cased text; it will not match anything real.
  }
  return host;
}

const allowSet = (allowHosts: readonly string[] | undefined): ReadonlySet<string> =>
  new Set((allowHosts ?? []).map(canonicalHost));

const REFUSED_NAMES = new Set(['localhost', 'localhost.localdomain', 'metadata.google.internal']);
const REFUSED_SUFFIXES = ['.localhost', '.local', '.internal', '.localdomain', '.home.arpa'];

function refusedNameReason(host: string): string | undefined {
  if (REFUSED_NAMES.has(host)) return `"${host}" is a local name`;
  const suffix = REFUSED_SUFFIXES.find((s) => host.endsWith(s));
  if (suffix) return `"*${suffix}" names are local`;
  if (!host.includes('.')) return `single-label name "${host}" would resolve inside the local network`;
  return undefined;
}

const privateAddressError = (ip: string): SsrfError =>
  new SsrfError(
    'private_address',
    `callback_url must not point to a private, loopback or link-local address (${ip})`,
  );

/** Host checks shared by both stages; `host` is canonical. */
function checkHost(host: string, allowed: ReadonlySet<string>): void {
  if (host === '') throw new SsrfError('hostname', 'callback_url must have a hostname');
  if (allowed.has(host)) return;
  if (isIP(host)) {
    if (!isPublicAddress(host)) throw privateAddressError(host);
    return;
  }
  const why = refusedNameReason(host);
  if (why) throw new SsrfError('hostname', `callback_url must not point to a local hostname: ${why}`);
}

/**
 * Request-time check of an agent callback URL. Returns the parsed URL; throws `SsrfError` with a
 * message suitable for an API error response.
 */
export function checkCallbackUrl(raw: string, opts: CallbackUrlOptions = {}): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SsrfError('invalid_url', 'callback_url is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && !(opts.allowHttp && url.protocol === 'http:')) {
    const allowed = opts.allowHttp ? 'https or http' : 'https';
    throw new SsrfError('scheme', `callback_url must use ${allowed}, not ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new SsrfError('userinfo', 'callback_url must not contain credentials (user:password@)');
  }
  checkHost(canonicalHost(url.hostname), allowSet(opts.allowHosts));
  return url;
}

/**
 * Delivery-time check: resolves every address of `url`'s hostname and refuses if any one is not
 * public (unless the hostname, or that address, is allow-listed). Returns the address to connect to;
 * connect to exactly this address (pin it), never re-resolve.
 */
export async function resolvePublicAddress(
  url: URL,
  opts: ResolveOptions = {},
): Promise<{ address: string; family: 4 | 6 }> {
  const host = canonicalHost(url.hostname);
  const allowed = allowSet(opts.allowHosts);
  checkHost(host, allowed);

  const literal = isIP(host);
  if (literal === 4 || literal === 6) return { address: host, family: literal };

  const lookup = opts.lookup ?? dnsPromises.lookup;
  let addresses: { address: string; family: number }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new SsrfError(
      'resolution_failed',
      `callback_url hostname ${host} could not be resolved${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
  if (addresses.length === 0) {
    throw new SsrfError('resolution_failed', `callback_url hostname ${host} has no addresses`);
  }

  const hostAllowed = allowed.has(host);
  let chosen: { address: string; family: 4 | 6 } | undefined;
  for (const { address } of addresses) {
    const family = isIP(address);
    if (family !== 4 && family !== 6) {
      throw new SsrfError('resolution_failed', `callback_url hostname ${host} resolved to a non-IP value`);
    }
    if (!hostAllowed && !isPublicAddress(address) && !allowed.has(canonicalHost(address))) {
      throw privateAddressError(`${host} resolves to ${address}`);
    }
    chosen ??= { address, family };
  }
  // Non-empty list and every entry checked above, so `chosen` is set.
  return chosen as { address: string; family: 4 | 6 };
}
