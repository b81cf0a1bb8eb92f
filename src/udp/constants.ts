/**
 * UDP constants with Linux's values: size limits (RFC 768 over IPv4 / RFC 8200 over IPv6 without
 * jumbograms), socket buffer defaults and bounds (net.core.rmem_default / rmem_max, SOCK_MIN_*),
 * the per-skb memory overhead charged to the receive buffer and the shutdown bits (poll bits are
 * in uapi).
 */

export const IPPROTO_UDP = 17;
export const UDP_HLEN = 8;

/** largest payload over IPv4: 65535 - 20 (IPv4 header) - 8 */
export const UDP_MAX_PAYLOAD_V4 = 65507;
/** largest payload over IPv6 (the payload length field counts the UDP header, not the IPv6 one) */
export const UDP_MAX_PAYLOAD_V6 = 65527;
/** Linux udp_sendmsg rejects anything over 0xffff before looking at the family */
export const UDP_MAX_LEN = 0xffff;

/** net.core.rmem_default / wmem_default: sk_rcvbuf / sk_sndbuf of a new socket */
export const UDP_RMEM_DEFAULT = 212992;
export const UDP_WMEM_DEFAULT = 212992;
/** net.core.rmem_max / wmem_max: SO_RCVBUF / SO_SNDBUF values are clamped to these, then doubled */
export const SYSCTL_RMEM_MAX = 212992;
export const SYSCTL_WMEM_MAX = 212992;
/** Linux SOCK_MIN_RCVBUF (2048 + SKB_TRUESIZE(256)) and SOCK_MIN_SNDBUF (twice that) */
export const SOCK_MIN_RCVBUF = 2304;
export const SOCK_MIN_SNDBUF = 4608;
/**
 * Memory charged per queued datagram on top of its bytes (Linux skb->truesize counts the
 * struct sk_buff and skb_shared_info, about 576 bytes on x86-64)
 */
export const SKB_TRUESIZE_OVERHEAD = 576;

/** sk_shutdown bits */
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;
export const SHUTDOWN_MASK = 3;

/** ICMP types/codes UDP's error handler looks at (path MTU) */
export const ICMP_DEST_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMPV6_PKT_TOOBIG = 2;
