/**
 * Connection life cycle (Linux tcp_connect_init / tcp_finish_connect / tcp_done, and the ISN):
 * setting up a control block from its route (MSS, window scale, initial window, the initial
 * send sequence number), taking the peer's SYN options, completing the handshake, failing and
 * finishing a connection (timers off, unhashed, port released, queues freed), and stopping a
 * listener. Passive opens start in input/listen.ts, active ones in TcpProto.userConnect; both
 * come through `tcpInitConnection`, which chooses the ISN.
 */
import { tcpKeepaliveEstablished } from './timer/keepalive.js';
import { InetAddr, isV4, type Addr } from '../inet/index.js';
import type { Route } from '../net/index.js';
import { skbFree, type SkBuff } from '../skb/index.js';
import type { TcpOptions } from '../wire/tcp.js';
import {
  TCPOLEN_TSTAMP_ALIGNED, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_DEFAULT_MSS, TCP_ESTABLISHED, TCP_LISTEN, TCP_MAX_QUICKACKS,
  TCP_MAX_WINDOW, TCP_TIMEOUT_INIT,
} from './constants.js';
import { TCP_HDR4, TCP_HDR6, TCP_MIN_SND_MSS } from './icmp-err.js';
import { tcpInitCongestion } from './input/fast-recovery.js';
import { tcpPurgeOfo } from './input/ofo.js';
import { secureTcpSeq, secureTcpTsOff } from './isn.js';
import { tcpSendActiveReset } from './output/control.js';
import { SYSCTL_RMEM_MAX, type TcpProto } from './proto.js';
import { tcpRttSample } from './rtt.js';
import { TcpSock } from './sock.js';

/** Linux tcp_connect_init / tcp_openreq_init: MSS, window scale and ISN for route `rt` */
export function tcpInitConnection(tcp: TcpProto, tp: TcpSock, rt: Route): void {
  tp.routeDev = rt.dev;
  tp.pmtu = rt.mtu;
  // MSS = route MTU − IP header − TCP header (IPv4 40, IPv6 60: Linux tcp_mtu_to_mss)
  tp.advMss = Math.max(rt.mtu - (isV4(tp.raddr) ? TCP_HDR4 : TCP_HDR6), 88);
  if (tp.userMss > 0 && tp.userMss < tp.advMss) tp.advMss = tp.userMss;
  tp.mss = TCP_DEFAULT_MSS;
  tp.rto = TCP_TIMEOUT_INIT;
  tp.rcvWscale = tcp.sysctl.tcp_window_scaling ? tcpSelectInitialWscale(tcp, tp.rcvBuf, tp.rcvBufLocked) : 0;
  tp.wscaleOk = false;
  tp.tsOk = false;
  tp.sackOk = false;
  tp.tsRecent = 0;
  tp.tsRecentStamp = -1;
  tp.numSacks = 0;
  tp.dsack = false;
  tp.rcvWnd = Math.min(tp.rcvBuf >> 1, TCP_MAX_WINDOW);
  // the initial send sequence number (ISN) and the send sequence space around it
  tp.iss = tcpChooseIsn(tcp, tp);
  tp.tsOffset = tcpChooseTsOffset(tcp, tp);
  tp.recover = tp.iss;
  tp.sndUna = tp.iss;
  tp.sndNxt = tp.iss;
  tp.sndMax = tp.iss;
  tp.sendBuf.reset((tp.iss + 1) | 0);
  tp.pushSeq = (tp.iss + 1) | 0;
  tp.rtx.clear();
  tp.resetCongestion();
  tp.probesOut = 0;
}

/**
 * Linux tcp_select_initial_window's window scale: enough for the largest window the socket may
 * ever offer — max(tcp_rmem[2], rmem_max), or only its own buffer's space when SO_RCVBUF locked
 * it (the window clamp) — as clamp(ilog2(space) − 15, 0, 14).
 */
export function tcpSelectInitialWscale(tcp: TcpProto, rcvBuf: number, locked: boolean): number {
  const full = rcvBuf >> 1; // tcp_full_space at the default scaling ratio
  let space = locked ? full : Math.max(full, tcp.sysctl.tcp_rmem[2] ?? 0, SYSCTL_RMEM_MAX);
  let ws = -15;
  while (space > 1) {
    space = Math.floor(space / 2);
    ws++;
  }
  return Math.min(Math.max(ws, 0), 14);
}

/**
 * The ISN of a new connection (addresses and ports of `tp` are set): RFC 6528 as Linux's
 * secure_tcp_seq, a keyed hash of the 4-tuple with the host's secret plus a 64 ns clock (isn.ts).
 * (The TSval offset is `tcpChooseTsOffset`.)
 */
export function tcpChooseIsn(tcp: TcpProto, tp: TcpSock): number {
  // a SYN that ended a TIME_WAIT connection: above the old sequence space (Linux tcp_tw_isn)
  if (tcp.twIsn !== 0) return tcp.twIsn;
  return secureTcpSeq(tcp.isnSecrets, tp.laddr, tp.raddr, tp.lport, tp.rport, tcp.sched.now()) | 0;
}

/**
 * The connection's TSval offset (Linux secure_tcp_ts_off): a keyed hash of the address pair, so
 * that a SYN-cookie connection rebuilt from its ACK finds the offset its SYN-ACK used.
 */
export function tcpChooseTsOffset(tcp: TcpProto, tp: TcpSock): number {
  return secureTcpTsOff(tcp.isnSecrets, tp.laddr, tp.raddr, tcp.sysctl.tcp_timestamps) | 0;
}

/**
 * The peer's SYN options: MSS clamp and send MSS, window scaling, timestamps (the first
 * ts_recent) and SACK, each taken only when this host allows it.
 */
export function tcpApplySynOptions(tcp: TcpProto, tp: TcpSock, o: TcpOptions): void {
  const sys = tcp.sysctl;
  tp.tsOk = o.hasTimestamp && sys.tcp_timestamps;
  if (tp.tsOk) {
    tp.tsRecent = o.tsVal;
    tp.tsRecentStamp = tcp.sched.now();
  }
  tp.sackOk = o.sackPermitted && sys.tcp_sack;
  let peerMss = o.mss > 0 ? o.mss : TCP_DEFAULT_MSS;
  if (tp.userMss > 0 && tp.userMss < peerMss) peerMss = tp.userMss;
  tp.mssClamp = peerMss;
  tp.mss = Math.max(Math.min(peerMss, tp.advMss), 64);
  // a path MTU learned while the handshake ran (Linux tcp_sync_mss with icsk_pmtu_cookie)
  const pmtuMss = tp.pmtu - (isV4(tp.raddr) ? TCP_HDR4 : TCP_HDR6);
  if (pmtuMss < tp.mss) tp.mss = Math.max(pmtuMss, TCP_MIN_SND_MSS);
  // the timestamp option takes 12 bytes of every segment (Linux tcp_mtu_to_mss)
  if (tp.tsOk) tp.mss = Math.max(tp.mss - TCPOLEN_TSTAMP_ALIGNED, TCP_MIN_SND_MSS);
  // Linux tcp_initialize_rcv_mss: a conservative guess (at most 536) that received segments raise
  tp.rcvMss = Math.max(Math.min(tp.mss, tp.advMss, tp.rcvWnd >> 1, TCP_DEFAULT_MSS), 88);
  if (o.wscale >= 0 && sys.tcp_window_scaling) {
    tp.wscaleOk = true;
    tp.sndWscale = Math.min(o.wscale, 14);
  } else {
    tp.wscaleOk = false;
    tp.sndWscale = 0;
    tp.rcvWscale = 0;
  }
}

/** our SYN was acknowledged: take the peer's window, the RTT sample, and go ESTABLISHED */
export function tcpCompleteHandshake(tcp: TcpProto, tp: TcpSock, seq: number, ack: number, sndWnd: number): void {
  // the SYN counts as one byte acknowledged (Linux tcp_snd_una_update): an ACK of the ISN is
  // then old but acceptable (RFC 5961 §5.2 window min(max_window, bytes_acked)), its data kept
  tp.stats.bytesAcked += (ack - tp.sndUna) | 0;
  tp.sndUna = ack;
  tp.sndWnd = sndWnd;
  tp.maxWindow = sndWnd;
  tp.sndWl1 = seq;
  tp.sndWl2 = ack;
  tcpRttSample(tcp, tp);
  tp.retransmits = 0;
  tp.backoff = 0;
  tcp.sched.cancel(tp.rtoTimer);
  tcpEstablished(tcp, tp);
}

function tcpEstablished(tcp: TcpProto, tp: TcpSock): void {
  tp.state = TCP_ESTABLISHED;
  tcpInitCongestion(tp);
  tcpKeepaliveEstablished(tcp, tp);
  tp.quickAcks = TCP_MAX_QUICKACKS;
  tp.retransStamp = tcp.sched.now();
  tcp.stats.currEstab++;
  if (tp.sockOwner) {
    tp.sockOwner.tcpStateChange(tp);
    tp.sockOwner.tcpWritable(tp);
  }
}

/** the connection failed with `errno`: wake everybody, tear down */
export function tcpFail(tcp: TcpProto, tp: TcpSock, errno: number): void {
  tp.error = errno;
  const owner = tp.sockOwner;
  tcpDone(tcp, tp);
  if (owner) {
    owner.tcpStateChange(tp);
    owner.tcpReadable(tp);
    owner.tcpWritable(tp);
  }
}

/** moves to CLOSE, cancels timers, unhashes and frees protocol resources */
export function tcpDone(tcp: TcpProto, tp: TcpSock): void {
  if (tp.state === TCP_ESTABLISHED || tp.state === TCP_CLOSE_WAIT) tcp.stats.currEstab--;
  const wasListen = tp.state === TCP_LISTEN;
  if (!wasListen) tp.shutdownDone = true;
  tp.state = TCP_CLOSE;
  const sched = tcp.sched;
  sched.cancel(tp.rtoTimer);
  sched.cancel(tp.delackTimer);
  sched.cancel(tp.twTimer);
  sched.cancel(tp.keepaliveTimer);
  if (wasListen) tcp.demux.removeListener(tp);
  if (tp.hashed) tcp.demux.remove(tp);
  tcp.memWait.remove(tp);
  if (tp.parent !== null && !tp.inAcceptQueue) {
    tp.parent.synQueueLen--;
    tp.parent = null;
  }
  // Linux tcp_set_state(CLOSE): the port goes unless the user bound it (and still has the socket)
  if (tp.portHeld && (tp.orphan || !tp.bindPortLock)) {
    tp.portHeld = false;
    const port = tp.lport;
    tcp.ports.unbind(tp);
    tp.lport = port; // getsockname still reports it (the port is free for others)
  }
  tp.sendBuf.release();
  tp.rtx.clear();
  tcpPurgeOfo(tp);
  if (tp.orphan) tcpPurgeRcv(tp);
  if (tp.sockOwner) tp.sockOwner.tcpStateChange(tp);
}

/** Linux inet_csk_listen_stop: reset and free the connections nobody accepted */
export function tcpListenStop(tcp: TcpProto, lp: TcpSock): void {
  for (const child of lp.acceptQueue) {
    child.inAcceptQueue = false;
    child.parent = null;
    // nobody will read what it received: done() frees an orphan's queues
    child.orphan = true;
    if (child.state !== TCP_CLOSE) tcpSendActiveReset(tcp, child);
    tcpDone(tcp, child);
  }
  lp.acceptQueue = [];
}

/** received bytes the application has not read (the FIN excluded) */
export function tcpUnreadData(tp: TcpSock): boolean {
  return ((tp.rcvNxt - tp.copiedSeq) | 0) - (tp.finReceived ? 1 : 0) > 0;
}

/** frees the receive queue */
export function tcpPurgeRcv(tp: TcpSock): void {
  let s: SkBuff | null = tp.rcvHead;
  while (s !== null) {
    const n: SkBuff | null = s.next;
    s.next = null;
    skbFree(s);
    s = n;
  }
  tp.rcvHead = tp.rcvTail = null;
  tp.rcvQueueBytes = 0;
}

/**
 * A child of listener `lp` for the 4-tuple (`dst` local, `src`:`sport` remote): the listener's
 * socket options carried over (as Linux's sk_clone_lock / inet_csk_clone_lock copy them), the
 * connection initialised on route `rt`. Shared by the SYN path and the SYN-cookie ACK path.
 */
export function tcpCreateChild(tcp: TcpProto, lp: TcpSock, src: Addr, dst: Addr, sport: number, oif: number, rt: Route): TcpSock {
  const child = new TcpSock(tcp, lp.sockFamily, lp.owner);
  child.laddr = InetAddr.from(dst);
  child.raddr = InetAddr.from(src);
  child.rport = sport;
  child.oif = oif;
  child.v6only = lp.v6only;
  child.reuseAddr = lp.reuseAddr;
  child.reusePort = lp.reusePort;
  child.nodelay = lp.nodelay;
  child.rcvBuf = lp.rcvBuf;
  child.sndBuf = lp.sndBuf;
  child.rcvBufLocked = lp.rcvBufLocked;
  child.notsentLowat = lp.notsentLowat;
  child.userTimeout = lp.userTimeout;
  child.keepalive = lp.keepalive;
  child.keepIdle = lp.keepIdle;
  child.keepIntvl = lp.keepIntvl;
  child.keepCnt = lp.keepCnt;
  child.userMss = lp.userMss;
  child.parent = lp;
  tcpInitConnection(tcp, child, rt);
  return child;
}
