/**
 * tcp: the transport over IPv4 and IPv6 (one `TcpProto` registered with the `IpLayer`), organised
 * by concern as Linux's tcp_input / tcp_output / tcp_timer (see proto.ts for the map): `input/`
 * (segment entry and demux, LISTEN / SYN_RECV, SYN_SENT, synchronized states, one validation
 * step with PAWS, RFC 5961 and Linux's rate limits, ACK processing, SACK scoreboard, loss
 * recovery, receive and out-of-order queues with SACK / DSACK blocks, TIME_WAIT), `output/` (one
 * segment builder for every segment, options on every segment when negotiated, the retransmit
 * queue of sent-segment records, window selection), `timer/` (delayed ACK, RTO / probe,
 * TIME_WAIT), `conn.ts` (set-up, ISN, teardown), `err.ts` (ICMP errors, path MTU), `demux`,
 * `ratelimit`, `mem-wait`, `poll`, the devmem receive path (`recv`, tokens, SO_DEVMEM_DONTNEED)
 * and `cong/` / `recovery/` (congestion-control and recovery modules). Local ports live in the
 * shared `PortTable` (src/inet). Contract: the protocol never throws on packet input; user entry
 * points return byte counts or negative errno values (never ENOBUFS: a send short of memory
 * waits); queued skbs are owned by their connection, and devmem tokens by the socket until
 * DONTNEED or close.
 */
export * from './constants.js';
export { TcpSock, type TcpSockOwner, type TcpSockStats, type TcpTxTstampHook } from './sock.js';
export { TcpProto, type TcpMib, type TcpBindFlags, type TcpSysctl } from './proto.js';
export { RtxQueue, TxRecord } from './output/rtx-queue.js';
export { TcpDemux } from './demux.js';
export { tcpPoll, tcpSockError } from './poll.js';
export { TcpMemWait, MEM_WAIT_RETRY } from './mem-wait.js';
export { TCP_HDR4, TCP_HDR6, MIN_PMTU4, MIN_PMTU6, TCP_MIN_SND_MSS, mssForPmtu } from './icmp-err.js';
export { SendBuffer } from './send-buffer.js';
export { TokenTable, TOKEN_MAX } from './token-table.js';
export { CmsgWriter, RecvState, tcpRecvmsg, tcpDevmemDontneed, tcpAtEof, tcpConnecting } from './recv.js';
export {
  tcpChronoStart, tcpChronoStop, tcpChronoStats, type ChronoStats, TCP_CHRONO_BUSY, TCP_CHRONO_RWND_LIMITED, TCP_CHRONO_SNDBUF_LIMITED,
} from './chrono.js';
export { tcpSetKeepalive, tcpKeepidleChanged } from './timer/keepalive.js';
export { tcpSetCongestion, tcpGetCongestion } from './cong/registry.js';
