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
