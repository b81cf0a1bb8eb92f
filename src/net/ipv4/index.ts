/**
 * net/ipv4: the IPv4 family stack — input checks and options, output with fragmentation,
 * reassembly with Linux's limits, the path MTU cache, ICMP (echo, errors mapped to errno, rate
 * limits) and ARP as the neighbour table's IPv4 protocol. `Ipv4Stack` is a `FamilyStack` behind
 * the `InetLayer`; transports never import this folder.
 */
export * from './stack.js';
export * from './arp.js';
export * from './icmp.js';
export * from './icmp-ratelimit.js';
export * from './pmtu.js';
export * from './frag.js';
export * from './options.js';
export * from './reasm.js';
