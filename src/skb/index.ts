/**
 * skb: `SkBuff` (linear head + frags + `unreadable`), the skb cache, and every helper that
 * touches frag bytes (copy, checksum, pull, trim, coalesce). Contract: nothing outside this folder
 * reads payload bytes of an skb; these helpers refuse unreadable frags the way Linux does.
 */
export * from './skbuff.js';
export * from './ops.js';
export * from './ubuf.js';
