/**
 * socket: the syscall layer — per-host fd table of files (sockets, dma-bufs, netlink sockets,
 * epoll instances), synchronous calls that return a number or a negative errno with Linux
 * semantics, poll / epoll over wait queues that protocol callbacks wake, sockaddr encoding
 * byte-exact with Linux, cmsg layouts byte-exact with Linux — and on top of it the promise
 * `Socket` API and Node-style streams. Contract: syscalls never throw and never sleep; the
 * promise API throws `ErrnoError`; devmem tokens returned in cmsgs belong to the socket until
 * SO_DEVMEM_DONTNEED or close; every pending call settles when its socket, host or network closes.
 */
export * from './cmsg.js';
export * from './sockaddr.js';
export * from './waitqueue.js';
export * from './file.js';
export * from './msghdr.js';
export * from './sock.js';
export * from './tcp-sock.js';
export * from './epoll.js';
export * from './kernel-files.js';
export * from './syscalls.js';
export * from './socket.js';
export * from './devmem-chunks.js';
export * from './streams.js';
export * from './udp-sock.js';
