/**
 * net: the network layer of one host — the family-neutral face transports use (`InetLayer`
 * over `FamilyStack`s, the shared `ProtocolTable`, `RxMeta` / `IcmpErr`), `Ipv4Stack`
 * (addresses, routes, path MTU, input, output, fragmentation and reassembly), ARP over the
 * generic neighbour table (shared with NDP), ICMP, and `IpConfig` (the `host.ip` facade, text
 * addresses, both families). IPv4 lives in `./ipv4/`, IPv6 in `./ipv6/`.
 *
 * Contract:
 *  - Input: `Netif` hands IPv4 / ARP packets to the handlers the stack registered; they are
 *    validated with Linux SNMP accounting, reassembled when fragmented, trimmed, the IP header
 *    pulled, and handed to the `Transport` registered for their protocol, which owns them.
 *    Malformed packets are counted and dropped, never thrown.
 *  - Output: `output(skb, src, dst, proto, opts)` takes an skb with `data` at the L4 header and
 *    MAX_HEADER headroom, returns 0 or a negative errno, and always takes ownership.
 *  - Errors: ICMP errors and local failures (neighbour resolution: EHOSTUNREACH) reach the
 *    transport's `err` as one reused `IcmpErr`.
 *  - Only this layer reads the IPv4/ARP/ICMP headers it owns; payload bytes are reached through
 *    skb helpers only, and unreadable (device-memory) bytes are never read.
 *  - Timers run on the injected Scheduler; nothing uses wall-clock time. Hot paths allocate nothing.
 */
export * from './types.js';
export * from './inet-layer.js';
export * from './neighbour.js';
export * from './ipv4/index.js';
export * from './ip-config.js';
