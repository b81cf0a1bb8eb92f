/**
 * Socket-layer uAPI constants, with the generic (x86-64, arm64, riscv) Linux values.
 * Devmem values follow the 6.12–6.18 kernels (spec §5.1). Imports nothing.
 */

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;

export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export const SOL_SOCKET = 1;
export const SOL_IP = 0;
export const SOL_TCP = 6;
export const NETLINK_GENERIC = 16;

// SOL_SOCKET options
export const SO_DEBUG = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_DONTROUTE = 5;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_OOBINLINE = 10;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const SO_RCVLOWAT = 18;
export const SO_SNDLOWAT = 19;
export const SO_BINDTODEVICE = 25;
export const SO_PEEK_OFF = 42;
export const SO_ZEROCOPY = 60;
export const SO_DEVMEM_LINEAR = 78;
export const SO_DEVMEM_DMABUF = 79;
export const SO_DEVMEM_DONTNEED = 80;
export const SCM_DEVMEM_LINEAR = SO_DEVMEM_LINEAR;
export const SCM_DEVMEM_DMABUF = SO_DEVMEM_DMABUF;

// SOL_TCP options
export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_CORK = 3;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_INFO = 11;
export const TCP_QUICKACK = 12;
/** setsockopt / getsockopt: the congestion-control algorithm by name (Linux TCP_CONGESTION) */
export const TCP_CONGESTION = 13;

// recvmsg / sendmsg flags
export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;
export const MSG_ERRQUEUE = 0x2000;
/** kernel-internal in Linux (include/linux/socket.h); userspace defines it itself, as ncdevmem does */
export const MSG_SOCK_DEVMEM = 0x2000000;
export const MSG_ZEROCOPY = 0x4000000;

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** `struct cmsghdr` on 64-bit Linux: size_t cmsg_len; int cmsg_level; int cmsg_type. */
export const CMSG_HDR_LEN = 16;
export const CMSG_ALIGN = (n: number): number => (n + 7) & ~7;
export const CMSG_LEN = (n: number): number => CMSG_HDR_LEN + n;
export const CMSG_SPACE = (n: number): number => CMSG_HDR_LEN + CMSG_ALIGN(n);

/** `struct dmabuf_cmsg` (uapi linux/uio.h): u64 frag_offset, u32 frag_size, u32 frag_token, u32 dmabuf_id, u32 flags. */
export const DMABUF_CMSG_LEN = 24;
/** `struct dmabuf_token` (uapi linux/uio.h): u32 token_start, u32 token_count. */
export const DMABUF_TOKEN_LEN = 8;
/** SO_DEVMEM_DONTNEED limits (net/core/sock.c) */
export const MAX_DONTNEED_TOKENS = 128;
export const MAX_DONTNEED_FRAGS = 1024;

// ---- syscall layer (socket, fcntl, ioctl, poll, epoll): generic Linux values ----
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_TYPE_MASK = 0xf;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;
export const FIONREAD = 0x541b;
export const SIOCINQ = FIONREAD;
export const TIOCOUTQ = 0x5411;
export const SIOCOUTQ = TIOCOUTQ;
export const FIONBIO = 0x5421;
export const SIOCOUTQNSD = 0x894b;
export const SO_ACCEPTCONN = 30;
export const SO_PROTOCOL = 38;
export const SO_DOMAIN = 39;
export const SOL_IPV6 = 41;
export const IPPROTO_IPV6 = 41;
export const IPV6_V6ONLY = 26;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const POLLIN = 0x1;
export const POLLPRI = 0x2;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;
export const POLLRDNORM = 0x40;
export const POLLRDBAND = 0x80;
export const POLLWRNORM = 0x100;
export const POLLWRBAND = 0x200;
export const POLLMSG = 0x400;
export const POLLRDHUP = 0x2000;
export const EPOLLIN = POLLIN;
export const EPOLLPRI = POLLPRI;
export const EPOLLOUT = POLLOUT;
export const EPOLLERR = POLLERR;
export const EPOLLHUP = POLLHUP;
export const EPOLLRDNORM = POLLRDNORM;
export const EPOLLRDBAND = POLLRDBAND;
export const EPOLLWRNORM = POLLWRNORM;
export const EPOLLWRBAND = POLLWRBAND;
export const EPOLLMSG = POLLMSG;
export const EPOLLRDHUP = POLLRDHUP;
export const EPOLLEXCLUSIVE = 1 << 28;
export const EPOLLWAKEUP = 1 << 29;
export const EPOLLONESHOT = 1 << 30;
export const EPOLLET = 1 << 31;
export const EPOLL_CLOEXEC = O_CLOEXEC;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
/** `struct sockaddr_in` / `struct sockaddr_in6` sizes; RFC 2133's sockaddr_in6 lacked sin6_scope_id */
export const SOCKADDR_IN_LEN = 16;
export const SOCKADDR_IN6_LEN = 28;
export const SIN6_LEN_RFC2133 = 24;

// the socket error queue, SO_TIMESTAMPING (errqueue.ts)
export * from './errqueue.js';
