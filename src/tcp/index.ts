/**
 * tcp: the transport — control blocks, the RFC 9293 state machine, retransmission and NewReno
 * congestion control, the send buffer, receive and out-of-order queues, the devmem receive path
 * (tokens and cmsgs) and SO_DEVMEM_DONTNEED. Contract: the protocol never throws on packet
 * input; user entry points return byte counts or negative errno values; queued skbs are owned by
 * their connection, and devmem tokens by the socket until DONTNEED or close.
 */
export * from './constants.js';
export { TcpSock, type TcpSockOwner, type TcpSockStats } from './sock.js';
export { TcpProto, type TcpMib, type TcpBindFlags } from './proto.js';
export { TcpDemux } from './demux.js';
export { tcpPoll, tcpSockError } from './poll.js';
export { TcpMemWait, MEM_WAIT_RETRY } from './mem-wait.js';
export { SendBuffer } from './send-buffer.js';
export { TokenTable, TOKEN_MAX } from './token-table.js';
export { CmsgWriter, RecvState, tcpRecvmsg, tcpDevmemDontneed, tcpAtEof, tcpConnecting } from './recv.js';
