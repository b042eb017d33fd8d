/**
 * What counts as "a device" for new-sign-in notices (pure). A device is the pair
 *   (user-agent with every version number removed, network of the address)
 * where the network is the IPv4 /24 or the IPv6 /48 the request came from. So a browser update or a
 * new address from the same home or office network is the same device; another browser, another
 * computer, or the same laptop on another network is a new one. Simple on purpose: it catches a
 * password used from elsewhere, not a careful attacker who copies a user-agent from the same network.
 */

export interface DeviceClass {
  /** Stable text that identifies the class (hashed before it is stored). */
  readonly key: string;
  /** The network, shown in the notice: `203.0.113.0/24`, `2001:db8:1::/48`, or `unknown`. */
  readonly network: string;
  /** The user-agent as sent, one line, bounded: shown in the notice. */
  readonly label: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4Network(ip: string): string | undefined {
  const m = IPV4.exec(ip);
  if (m === null) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return `${octets[0]}.${octets[1]}.${octets[2]}.0/24`;
}

/** The first three groups of an IPv6 address, `::` expanded; undefined when it is not one. */
function ipv6Network(ip: string): string | undefined {
  const bare = ip.replace(/%.*$/, '').toLowerCase();
  if (!/^[0-9a-f:]+$/.test(bare) || !bare.includes(':')) return undefined;
  const halves = bare.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (groups.some((g) => g.length === 0 || g.length > 4)) return undefined;
  const first = groups.slice(0, 3).map((g) => g.replace(/^0+(?=.)/, ''));
  return `${first.join(':')}::/48`;
}

export function networkOf(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return ipv4Network(mapped?.[1] ?? ip) ?? ipv6Network(ip) ?? 'unknown';
}

export function deviceClassOf(userAgent: string | null, ip: string): DeviceClass {
  const ua = (userAgent ?? '')
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const uaClass = ua
    .toLowerCase()
    .replace(/\d+(?:[._]\d+)*/g, '#')
    .slice(0, 300);
  const network = networkOf(ip);
  return {
    key: `ua:${uaClass}\nnet:${network}`,
    network,
    label: ua === '' ? 'unknown browser' : ua.slice(0, 160),
  };
}
