/**
 * tcp: the transport over IPv4 and IPv6 (one `TcpProto` registered with the `IpLayer`) —
 * control blocks, the RFC 9293 state machine, retransmission and NewReno congestion control,
 * the send buffer, receive and out-of-order queues, the devmem receive path (tokens and cmsgs)
 * and SO_DEVMEM_DONTNEED; by concern: `demux` (established hash keyed by a secret tuple hash,
 * listeners with specific/wildcard/dual-stack/SO_REUSEPORT selection), `icmp-err` (how ICMP
 * errors and path MTU read), `mem-wait` (sends waiting for host memory), `poll` (readiness,
 * SO_ERROR). Local ports live in the shared `PortTable` (src/inet). Contract: the protocol never
 * throws on packet input; user entry points return byte counts or negative errno values (never
 * ENOBUFS: a send short of memory waits); queued skbs are owned by their connection, and devmem
 * tokens by the socket until DONTNEED or close.
 */
export * from './constants.js';
export { TcpSock, type TcpSockOwner, type TcpSockStats } from './sock.js';
export { TcpProto, type TcpMib, type TcpBindFlags } from './proto.js';
export { TcpDemux } from './demux.js';
export { tcpPoll, tcpSockError } from './poll.js';
export { TcpMemWait, MEM_WAIT_RETRY } from './mem-wait.js';
export { TCP_HDR4, TCP_HDR6, MIN_PMTU4, MIN_PMTU6, TCP_MIN_SND_MSS, mssForPmtu } from './icmp-err.js';
export { SendBuffer } from './send-buffer.js';
export { TokenTable, TOKEN_MAX } from './token-table.js';
export { CmsgWriter, RecvState, tcpRecvmsg, tcpDevmemDontneed, tcpAtEof, tcpConnecting } from './recv.js';
