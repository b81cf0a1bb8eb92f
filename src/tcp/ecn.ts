/**
 * Classic ECN for TCP (RFC 3168 as Linux 6.18 does it, net.ipv4.tcp_ecn: 0 off, 1 request on
 * outgoing and accept on incoming connections, 2 accept only): negotiation (an ECN-setup SYN
 * carries ECE|CWR, the SYN-ACK that agrees carries ECE alone; a retransmitted SYN falls back to
 * none, tcp_ecn_fallback), the receiver (a CE mark on in-window data → ECE on every segment until
 * a data segment with CWR arrives, quick ACKs meanwhile), and the sender's marks (new data goes
 * out ECT(0) with CWR once after a cwnd reduction; ACKs and retransmissions go not-ECT).
 *
 * The congestion response to an ECE (Linux tcp_enter_cwr with PRR) lives in recovery
 * (fast-recovery.ts); it calls `tcpEcnQueueCwr` when it starts a reduction. State: `tp.ecnFlags`
 * (Linux tp->ecn_flags). Per segment: a few bit tests, no allocation.
 */
import { TCP_CWR, TCP_ECE, TCP_SYN } from '../wire/tcp.js';
import type { TcpProto } from './proto.js';
import type { TcpSock } from './sock.js';

/** ECN was negotiated (or is being requested by our SYN) */
export const TCP_ECN_OK = 1;
/** send CWR on the next new data segment (a reduction started) */
export const TCP_ECN_QUEUE_CWR = 2;
/** echo ECE until the peer's CWR (we saw CE) */
export const TCP_ECN_DEMAND_CWR = 4;
/** an ECT or CE mark was seen from the peer */
export const TCP_ECN_SEEN = 8;

/** IP ECN field (the low two TOS / traffic-class bits) */
export const INET_ECN_MASK = 3;
export const INET_ECN_NOT_ECT = 0;
export const INET_ECN_ECT_1 = 1;
export const INET_ECN_ECT_0 = 2;
export const INET_ECN_CE = 3;

/**
 * Linux tcp_ecn_send_syn / tcp_ecn_clear_syn / tcp_ecn_make_synack: the extra flags of our SYN
 * (ECE|CWR with tcp_ecn = 1; none on a retransmission, whose SYN-ACK will then say no) or of our
 * SYN-ACK (ECE when the request agreed to ECN)
 */
export function tcpEcnSynFlags(tcp: TcpProto, tp: TcpSock, synAck: boolean): number {
  if (synAck) return tp.ecnFlags & TCP_ECN_OK ? TCP_ECE : 0;
  if (tp.retransmits > 0) return 0;
  tp.ecnFlags = tcp.sysctl.tcp_ecn === 1 ? TCP_ECN_OK : 0;
  return tp.ecnFlags !== 0 ? TCP_ECE | TCP_CWR : 0;
}

/** Linux tcp_ecn_rcv_synack: the peer agreed only with ECE and without CWR */
export function tcpEcnRcvSynAck(tp: TcpSock, flags: number): void {
  if (tp.ecnFlags & TCP_ECN_OK && (!(flags & TCP_ECE) || flags & TCP_CWR)) tp.ecnFlags = 0;
}

/** Linux tcp_ecn_rcv_syn (simultaneous open): the peer's SYN must request ECN too */
export function tcpEcnRcvSyn(tp: TcpSock, flags: number): void {
  if (tp.ecnFlags & TCP_ECN_OK && (flags & (TCP_ECE | TCP_CWR)) !== (TCP_ECE | TCP_CWR)) tp.ecnFlags = 0;
}

/**
 * Linux tcp_ecn_create_request: a SYN with ECE and CWR, itself not ECT-marked, on a host with
 * tcp_ecn 1 or 2 makes an ECN connection
 */
export function tcpEcnCreateRequest(tcp: TcpProto, tp: TcpSock, flags: number, tos: number): void {
  tp.ecnFlags = tcpEcnRequestOk(tcp, flags, tos) ? TCP_ECN_OK : 0;
}

/** the test of tcpEcnCreateRequest, for a SYN answered without a request (SYN cookies) */
export function tcpEcnRequestOk(tcp: TcpProto, flags: number, tos: number): boolean {
  return (flags & (TCP_ECE | TCP_CWR)) === (TCP_ECE | TCP_CWR) && (tos & INET_ECN_MASK) === INET_ECN_NOT_ECT && tcp.sysctl.tcp_ecn !== 0;
}

/** Linux tcp_enter_quickack_mode(sk, 2): ACK the next segments at once */
function tcpEnterQuickack(tp: TcpSock, max: number): void {
  let q = Math.floor(tp.rcvWnd / (2 * tp.rcvMss));
  if (q === 0) q = 2;
  if (q > max) q = max;
  if (q > tp.quickAcks) tp.quickAcks = q;
}

/**
 * Linux tcp_ecn_check_ce, for data being queued (in order or not): a CE mark demands CWR from
 * the peer (ECE on our segments until then) and ACKs go out at once; a not-ECT segment after ECT
 * ones is probably a retransmission: quick ACKs too
 */
export function tcpEcnCheckCe(tp: TcpSock, tos: number): void {
  if (!(tp.ecnFlags & TCP_ECN_OK)) return;
  const ecn = tos & INET_ECN_MASK;
  if (ecn === INET_ECN_NOT_ECT) {
    if (tp.ecnFlags & TCP_ECN_SEEN) tcpEnterQuickack(tp, 2);
  } else if (ecn === INET_ECN_CE) {
    if (!(tp.ecnFlags & TCP_ECN_DEMAND_CWR)) {
      tcpEnterQuickack(tp, 2);
      tp.ecnFlags |= TCP_ECN_DEMAND_CWR;
    }
    tp.ecnFlags |= TCP_ECN_SEEN;
  } else {
    tp.ecnFlags |= TCP_ECN_SEEN;
  }
}

/**
 * Linux tcp_ecn_accept_cwr, in the ACK step of an acceptable ACK (since Linux 5.10 pure ACKs
 * count too, a deliberate deviation from RFC 3168 for robustness): the peer's CWR ends our ECE
 * echo. A data segment with CWR is also ACKed at once (the peer's cwnd may be tiny): data.ts.
 */
export function tcpEcnAcceptCwr(tp: TcpSock, flags: number): void {
  if (flags & TCP_CWR) tp.ecnFlags &= ~TCP_ECN_DEMAND_CWR;
}

/** Linux tcp_ecn_rcv_ecn_echo: an ECE on a non-SYN segment of an ECN connection */
export function tcpEcnRcvEcnEcho(tp: TcpSock, flags: number): boolean {
  return (flags & (TCP_ECE | TCP_SYN)) === TCP_ECE && (tp.ecnFlags & TCP_ECN_OK) !== 0;
}

/** Linux tcp_ecn_queue_cwr: a cwnd reduction started; CWR goes on the next new data */
export function tcpEcnQueueCwr(tp: TcpSock): void {
  if (tp.ecnFlags & TCP_ECN_OK) tp.ecnFlags |= TCP_ECN_QUEUE_CWR;
}

/** Linux tcp_ecn_withdraw_cwr: an undone reduction withdraws its CWR */
export function tcpEcnWithdrawCwr(tp: TcpSock): void {
  tp.ecnFlags &= ~TCP_ECN_QUEUE_CWR;
}

/**
 * Linux tcp_ecn_send for a non-SYN segment of an ECN connection about to go out: returns the
 * flags to add (ECE while we demand CWR; CWR on new data when queued) and sets `tcp.txEcn`, the
 * IP ECN field to send it with (ECT(0) for new data; not-ECT for ACKs and retransmissions).
 * `newData`: it carries bytes at or past snd_nxt.
 */
export function tcpEcnSend(tcp: TcpProto, tp: TcpSock, newData: boolean): number {
  let add = 0;
  if (newData) {
    tcp.txEcn = INET_ECN_ECT_0;
    if (tp.ecnFlags & TCP_ECN_QUEUE_CWR) {
      tp.ecnFlags &= ~TCP_ECN_QUEUE_CWR;
      add = TCP_CWR;
    }
  } else {
    tcp.txEcn = INET_ECN_NOT_ECT;
  }
  if (tp.ecnFlags & TCP_ECN_DEMAND_CWR) add |= TCP_ECE;
  return add;
}
