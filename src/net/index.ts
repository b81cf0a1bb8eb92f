/**
 * net: the IPv4 network layer of one host — `Ipv4Stack` (interfaces, addresses, routes,
 * Ethernet/IPv4 input and output, loopback to own addresses), ARP and the neighbour table,
 * and ICMP (echo, destination unreachable, error demultiplexing, `ping`).
 *
 * Contract:
 *  - Input: `NetDevice` calls `netifReceive(skb, dev)` (the stack is every added device's
 *    `rxHandler`). The skb is validated with Linux SNMP accounting (`stats`, `stats.arp`,
 *    `stats.icmp`), trimmed to the IP total length, `networkHeader`/`transportHeader` set, the
 *    IP header pulled, and handed to the `L4Handler` registered for its protocol, which owns it.
 *    Malformed packets are counted and dropped, never thrown. No reassembly: fragments are
 *    dropped (`reasmFails`); no forwarding: packets for other hosts count `inAddrErrors`.
 *  - Output: `output(skb, src, dst, proto, opts)` takes an skb with `data` at the L4 header and
 *    MAX_HEADER headroom, returns 0 or a negative errno, and always takes ownership. No
 *    fragmentation: packets over the route MTU fail with -EMSGSIZE (`fragFails`).
 *  - Only this layer reads the IPv4/ARP/ICMP headers it owns; payload bytes are reached through
 *    skb helpers only, and unreadable (device-memory) bytes are never read: ICMP drops them.
 *  - Timers (ARP retransmit/reachability, loopback drain, ping timeouts) run on the injected
 *    Scheduler; nothing uses wall-clock time. Hot paths allocate nothing.
 */
export * from './types.js';
export * from './ipv4.js';
export * from './neighbour.js';
export * from './icmp.js';
