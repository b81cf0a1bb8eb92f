/**
 * `SendBuffer`: the name the rest of TCP used for the send side before it became Linux's write
 * queue of skb records; it is `WriteQueue` (write-queue/write-queue.ts), kept as an alias.
 */
export { WriteQueue as SendBuffer, WqSkb, WQ_SKB_OVERHEAD } from './write-queue/write-queue.js';
