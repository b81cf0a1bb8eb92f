/**
 * `inet`: what IPv4 and IPv6 have in common above the wire format — one address type for both
 * families (IPv4 stored v4-mapped), flow keys and their hash, the pseudo-header sum by family,
 * and the local port table shared by TCP and UDP. Pure data structures: no I/O, no clock, no
 * randomness of their own (a seed or secret is passed in).
 */
export * from './addr.js';
export * from './checksum.js';
export * from './flow.js';
export * from './ports.js';
