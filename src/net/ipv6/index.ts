/**
 * net/ipv6: the IPv6 family stack — `Ipv6Stack` (input with the extension-header chain,
 * output, routes, path MTU, fragmentation and reassembly), `Addrconf` (addresses, link-local,
 * DAD, source selection), `Ndisc` (Neighbor Discovery as the IPv6 `NeighProto`), `Icmpv6`
 * (echo, errors, rate limit, `ping6`). Contract: see each module; everything is driven by the
 * injected scheduler and seeded rng, and per-packet paths allocate nothing.
 */
export * from './addr6.js';
export * from './stats.js';
export * from './addrconf.js';
export * from './route.js';
export * from './reasm.js';
export * from './frag.js';
export * from './icmp.js';
export * from './ndisc.js';
export * from './stack.js';
