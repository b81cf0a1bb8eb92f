/**
 * socket/sys: the syscall layer — the fd table of files (sockets, dma-bufs, netlink sockets, epoll
 * instances), wait queues that protocol callbacks wake, poll / epoll, msghdr and sockaddr / cmsg
 * layouts byte-exact with Linux, and `Syscalls`: synchronous calls that return a number or a
 * negative errno, never throw and never sleep (the waiting forms take a virtual-time timeout).
 */
export * from './cmsg.js';
export * from './sockaddr.js';
export * from './waitqueue.js';
export * from './file.js';
export * from './msghdr.js';
export * from './sock.js';
export * from './tcp-sock.js';
export * from './udp-sock.js';
export * from './epoll.js';
export * from './kernel-files.js';
export * from './syscalls.js';
export { ErrQueue, decodeSockExtendedErr, decodeScmTimestamping, recvErrqueue, type SockExtendedErr } from './errqueue.js';
export { ZcSock, MsgZcUbuf, msgZerocopyRealloc, netZcopyPut, netZcopyPutAbort } from './zerocopy.js';
