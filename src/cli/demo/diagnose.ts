/**
 * Why a transfer stopped: a one-line diagnosis built only from the stack's stable surfaces
 * (netlink page-pool-get for the device buffers in flight, the rx queue's qstats, tcpInfo of the
 * receiving socket, host.snmp() of the sender, the wire's counters). Called once, when the demo's
 * watchdog fired or a socket failed, before the network is closed.
 */
import type { Host, NetDevice, NetlinkSocket, Socket } from '../../index.js';

/** what the run itself observed */
export interface StallEvidence {
  size: number;
  bytes: number;
  mode: 'devmem' | 'copy';
  stallUs: number;
  /** errno code (or message) of the socket call that failed, null when the watchdog fired */
  error: string | null;
  errorSide: 'sender' | 'receiver' | null;
  /** frames offered to the wire since the last delivered byte */
  quietFrames: number;
  /** device buffers (4 KiB net_iovs) in the bound dma-buf; 0 in copy mode */
  dmabufPages: number;
}

interface WireDir {
  frames: number;
  lost: number;
  /** frames delivered with a bad FCS (dropped by the receiving NIC) */
  corrupted?: number;
}

/** the run's objects the diagnosis reads counters from */
export interface StallSources {
  /** the sending host (null: the sender is not ours, a peer on a real link) */
  a: Host | null;
  b: Host;
  nl: NetlinkSocket;
  bindingId: number;
  conn: Socket | null;
  /** the sending socket (null with `a` null) */
  cs: Socket | null;
  rxq: NetDevice['rxQueues'][number];
  /** the simulated wire's counters (null on a real link) */
  wire: { readonly aToB: WireDir; readonly bToA: WireDir } | null;
}

function tokensHeld(conn: Socket | null): { tokens: number; queued: number } {
  if (conn === null) return { tokens: 0, queued: 0 };
  try {
    const ti = conn.tcpInfo();
    return { tokens: ti.devmemTokens, queued: ti.rcvQueued };
  } catch {
    return { tokens: 0, queued: 0 };
  }
}

async function devmemInflight(s: StallSources): Promise<number> {
  if (s.bindingId === 0) return 0;
  try {
    let n = 0;
    for (const p of await s.nl.netdev.pagePoolDump()) if (p.dmabuf === s.bindingId) n += p.inflight;
    return n;
  } catch {
    return 0;
  }
}

/** the one-line diagnosis (no trailing period, no newline) */
export async function diagnoseStall(ev: StallEvidence, s: StallSources): Promise<string> {
  const parts: string[] = [];
  const secs = (ev.stallUs / 1e6).toFixed(ev.stallUs % 1e6 === 0 ? 0 : 1);
  // size 0: the amount is not known (a real peer sends what it sends)
  const ofSize = ev.size > 0 ? ` of ${ev.size}` : '';
  if (ev.error !== null) {
    parts.push(`${ev.errorSide ?? 'a socket'} failed with ${ev.error} after ${ev.bytes}${ofSize} bytes`);
  } else {
    parts.push(`no progress for ${secs} s (${s.wire !== null ? 'virtual' : 'real time'}): ${ev.bytes}${ofSize} bytes delivered`);
  }
  const tcp = s.a !== null ? s.a.snmp().tcp : { timeouts: 0, retransSegs: 0 };
  if (ev.errorSide === 'sender' && tcp.timeouts > 0) {
    // Linux reports ETIMEDOUT, or the last soft error (EHOSTUNREACH from a failed neighbour)
    parts.push(`retransmissions given up after ${tcp.timeouts} timeouts`);
  }
  const rxAllocFail = s.rxq.stats.rxAllocFail;
  if (ev.mode === 'devmem') {
    const inflight = await devmemInflight(s);
    const { tokens, queued } = tokensHeld(s.conn);
    if (rxAllocFail > 0 || (ev.dmabufPages > 0 && inflight >= ev.dmabufPages)) {
      // a token names a frag, several frags may share a buffer: buffers are attributed to the
      // stack only when the application holds no token at all
      let line = `device memory exhausted: ${inflight} of ${ev.dmabufPages} device buffers in use`;
      if (tokens > 0) line += `, ${tokens} tokens not returned by the application (SO_DEVMEM_DONTNEED)`;
      else if (queued > 0) line += `, held in the receive queue (${queued} bytes readable)`;
      else line += ', held by the out-of-order queue (nothing readable: a segment is missing)';
      parts.push(`${line}; rx-alloc-fail ${rxAllocFail}`);
    } else if (tokens > 0) {
      parts.push(`${tokens} tokens not returned`);
    }
  } else if (rxAllocFail > 0) {
    parts.push(`rx-alloc-fail ${rxAllocFail}`);
  }
  if (s.a === null) return parts.join('; ');
  let backoff = '';
  if (ev.error === null && tcp.timeouts > 0 && s.cs !== null) {
    try {
      const ti = s.cs.tcpInfo();
      backoff = ` (backing off: RTO now ${(ti.rto / 1e6).toFixed(1)} s, ${ti.state})`;
    } catch {
      // the sending socket is gone: no backoff to report
    }
  }
  const w = s.wire;
  const lost = w !== null ? `; wire lost ${w.aToB.lost + w.bToA.lost} of ${w.aToB.frames + w.bToA.frames} frames (both directions)` : '';
  parts.push(`sender: ${tcp.retransSegs} segments retransmitted, ${tcp.timeouts} timeouts${backoff}${lost}`);
  const corrupted = w !== null ? (w.aToB.corrupted ?? 0) + (w.bToA.corrupted ?? 0) : 0;
  if (corrupted > 0) parts.push(`wire corrupted ${corrupted} frames (bad FCS, dropped by the NIC)`);
  // a segment larger than the path MTU never reaches the wire (IP FragFails: DF set)
  const fragFails = s.a.snmp().ip.fragFails;
  if (fragFails > 0) parts.push(`sender's IP dropped ${fragFails} packets larger than the MTU (FragFails)`);
  if (ev.error === null && ev.quietFrames === 0 && w !== null) parts.push('the network went quiet (no frame sent since the last delivered byte)');
  return parts.join('; ');
}
