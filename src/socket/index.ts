/**
 * socket: the BSD-style socket API (Linux errno semantics, cmsg layouts byte-exact with Linux)
 * over the TCP layer. Contract: every failure is an `ErrnoError`; blocking calls are promises;
 * devmem tokens returned in cmsgs belong to the socket until SO_DEVMEM_DONTNEED or close.
 */
export * from './cmsg.js';
export * from './socket.js';
export * from './devmem-chunks.js';
export * from './streams.js';
