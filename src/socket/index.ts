/**
 * socket: the syscall layer — per-host fd table of files (sockets, dma-bufs, netlink sockets,
 * epoll instances), synchronous calls that return a number or a negative errno with Linux
 * semantics, poll / epoll over wait queues that protocol callbacks wake, sockaddr encoding
 * byte-exact with Linux, cmsg layouts byte-exact with Linux — and on top of it the promise
 * `Socket` API and Node-style streams. Contract: syscalls never throw and never sleep; the
 * promise API throws `ErrnoError`; devmem tokens returned in cmsgs belong to the socket until
 * SO_DEVMEM_DONTNEED or close; every pending call settles when its socket, host or network closes.
 */
export * from './sys/index.js';
export * from './api/socket.js';
export * from './api/devmem-chunks.js';
export * from './api/devmem-send.js';
export * from './api/streams.js';
