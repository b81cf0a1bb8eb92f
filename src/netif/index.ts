/**
 * netif: the link layer between devices and the network protocols — `Netif` (every device's rx
 * handler: link-layer checks with counted drops, an ethertype registry that ARP, IPv4 and IPv6
 * register with, and the host's device list) and the loopback device `lo` (deferred, bounded
 * delivery of frames a host sends to itself).
 *
 * Contract for stacks: `netif.register(ETH_P_*, handler)`; `handler.rcv(skb, dev, pktType)` owns
 * the skb, whose data is at the L3 header. Route a local destination out of `netif.lo` with a
 * 14-byte Ethernet header (MACs 0): the frame comes back through `rcv` on `lo` in a later turn.
 */
export * from './netif.js';
export * from './loopback.js';
