import ipaddr from 'ipaddr.js';

/**
 * Which IP addresses a notification may be delivered to. A channel's URL or SMTP host is typed by
 * an organization's admin, so without this rule the backend would POST wherever it is told: to
 * the cloud metadata service (169.254.169.254), to a database on the private network, to itself.
 *
 * Only globally routable unicast addresses are allowed. The classification is ipaddr.js's (its
 * special-purpose ranges follow the IANA registries: private, loopback, link-local, CGNAT,
 * unique-local, unspecified, multicast, documentation, benchmarking, 6to4, Teredo, NAT64…), so no
 * range is hand-written here. An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4
 * address it carries. An operator may allow chosen networks (CRONFLEET_NOTIFICATION_ALLOWED_NETWORKS),
 * e.g. an internal mail relay; the tests allow 127.0.0.0/8, where their receivers listen.
 */

/** The verdict on one address: allowed, or refused with ipaddr.js's name of its range. */
export type AddressVerdict =
  { allowed: true; address: string } | { allowed: false; address: string; range: string };

type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** True when `text` is a CIDR network (10.0.0.0/8, fd00::/8) or a single address. */
export function isNetworkRange(text: string): boolean {
  return parseNetwork(text) !== undefined;
}

function parseNetwork(text: string): Network | undefined {
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const address = ipaddr.parse(text);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

/** The rule for one delivery: the networks allowed besides the public ones. */
export class AddressPolicy {
  private readonly allowedNetworks: Network[];

  constructor(allowedNetworks: readonly string[] = []) {
    this.allowedNetworks = allowedNetworks.map((text) => {
      const network = parseNetwork(text);
      if (network === undefined) {
        throw new Error(`${text} is not a network such as 10.20.0.0/16 or fd00:1234::/48`);
      }
      return network;
    });
  }

  /** Judges one resolved address (IPv4 or IPv6 text, without brackets). */
  judge(text: string): AddressVerdict {
    if (!ipaddr.isValid(text)) return { allowed: false, address: text, range: 'invalid' };
    // process() turns ::ffff:a.b.c.d into the IPv4 address a.b.c.d.
    const address = ipaddr.process(text);
    const range = address.range();
    if (range === 'unicast') return { allowed: true, address: text };
    const inAllowedNetwork = this.allowedNetworks.some(
      ([network, bits]) => network.kind() === address.kind() && address.match(network, bits),
    );
    return inAllowedNetwork
      ? { allowed: true, address: text }
      : { allowed: false, address: text, range };
  }
}
