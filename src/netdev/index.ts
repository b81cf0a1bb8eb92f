/**
 * netdev: the NIC model — rx/tx queues, the flow dissector, header split, n-tuple rules, RSS, per-queue page pools
 * and queue restart, checksum offload, qstats and ethtool-style configuration. Contract: the NIC
 * copies frames in (like DMA) and never retains a frame it borrowed; rx skbs carry payload in
 * page-pool frags, unreadable when the queue is bound to device memory.
 */
export * from './dissector.js';
export * from './netdevice.js';
export * from './ntuple.js';
export * from './qstats.js';
export * from './rss.js';
