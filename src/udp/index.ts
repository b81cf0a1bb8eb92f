/**
 * udp: the User Datagram Protocol (RFC 768) over IPv4 and IPv6, as Linux's udp.c / udp_ipv6.c
 * behave. Contract:
 *  - `UdpProto` is a `Transport` on the `IpLayer` (registers IPPROTO_UDP for both families). It
 *    takes every received skb (queues it on one socket or frees it), verifies checksums unless
 *    the NIC did, counts bad input in the Linux `Udp` MIB and never throws on it.
 *  - Demux: the best-scoring socket on the destination port (exact address beats wildcard, a
 *    connected peer beats unconnected), SO_REUSEPORT groups spread flows by a keyed hash, a
 *    dual-stack `::` socket receives IPv4 as v4-mapped unless v6only. No socket → ICMP port
 *    unreachable via `IpLayer.sendPortUnreach`.
 *  - The `user*` calls (bind, connect / AF_UNSPEC disconnect, sendmsg, recvmsg with source,
 *    MSG_PEEK / MSG_TRUNC, SO_ERROR, poll, FIONREAD, shutdown, close) are synchronous and
 *    non-blocking: 0 / a byte count or a negative errno. Wakeups go to `UdpSock.sockOwner`.
 *  - Hard ICMP errors (port unreachable → ECONNREFUSED, …) become the pending error of a
 *    connected socket, reported once by its next call; unconnected sockets ignore them.
 *  - Datagrams up to 65 507 bytes over IPv4 and 65 527 over IPv6 (the IP layer fragments);
 *    larger ones fail with EMSGSIZE. The receive queue is bounded by SO_RCVBUF.
 */
export * from './constants.js';
export * from './sock.js';
export * from './lookup.js';
export * from './datagram.js';
export * from './proto.js';
