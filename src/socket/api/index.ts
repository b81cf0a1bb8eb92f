/**
 * socket/api: what applications program against, built on the syscall layer — the promise
 * `Socket` (each blocking call with its own state, settled with an errno when its socket, host or
 * network closes), `devmemChunks`, Node `net`-style streams and `node:dgram`-style sockets. These
 * throw `ErrnoError` (or Node-style errors for the Node-compatible APIs).
 */
export * from './socket.js';
export * from './devmem-chunks.js';
export * from './streams.js';
export * from './dgram.js';
