/**
 * Congestion control (Linux tcp_congestion_ops): the contract (types), Reno and the shared
 * slow-start / additive-increase helpers, CUBIC with HyStart, cwnd moderation, and the
 * registry behind TCP_CONGESTION and the net.ipv4.tcp_*congestion_control sysctls.
 * Everything counts segments and allocates nothing per ACK.
 */
export * from './types.js';
export * from './reno.js';
export * from './cubic.js';
export * from './cwnd.js';
export * from './pacing.js';
export * from './registry.js';
