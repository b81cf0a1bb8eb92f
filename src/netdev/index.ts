/**
 * netdev: the NIC model — rx/tx queues, the flow dissector, header split, n-tuple rules, RSS, per-queue page pools
 * and queue restart, checksum offload, qstats and ethtool-style configuration. Contract: the NIC
 * copies frames in (like DMA) and never retains a frame it borrowed; rx skbs carry payload in
 * page-pool frags, unreadable when the queue is bound to device memory. TX (`tx/`): unreadable
 * skbs are validated against the device's bindings, segmented by frag reference, and read from
 * device memory by counted DMA into the wire frame; a link never receives an unreadable skb.
 */
export * from './tx/nic-tx.js';
export * from './dissector.js';
export * from './netdevice.js';
export * from './ntuple.js';
export * from './qstats.js';
export * from './rss.js';
