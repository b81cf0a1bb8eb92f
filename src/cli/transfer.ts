/**
 * One bulk TCP transfer between two simulated hosts, in devmem mode (host B's flow steered to an
 * rx queue bound to device memory, received with MSG_SOCK_DEVMEM, validated on the device,
 * tokens returned with SO_DEVMEM_DONTNEED) or in copy mode (plain recv into a host buffer,
 * validated on the host). Used by `devmem demo`. Uses the public API only.
 *
 * Every run ends with a result: a watchdog in virtual time fails the run when no payload byte
 * was delivered for `stallUs` (a stack that went quiet, a sender backing off forever, device
 * memory pinned), and a sender or receiver error (ETIMEDOUT, ECONNRESET) fails it at once. A
 * failed run's `failure` is a one-line diagnosis built from the stack's own counters (netlink
 * page-pool-get, the rx queue's stats, tcpInfo, host.snmp()). The network, and with it the
 * pcap file, is closed before the result is returned, whatever the outcome.
 */
import { constants as C, DeviceMemory, ErrnoError, NcdevmemPattern, Network, type Host, type NetDevice, type Socket } from '../index.js';
import { diagnoseStall, type StallEvidence } from './demo/diagnose.js';
import { ProgressWatchdog } from './ncdevmem/watchdog.js';

export interface TransferOptions {
  size: number;
  mtu: number;
  loss: number;
  /** wire faults: probability a frame is duplicated / held back (reordered) / corrupted */
  duplicate?: number;
  reorder?: number;
  corrupt?: number;
  seed: number;
  mode: 'devmem' | 'copy';
  /** run the transfer over IPv6 (fd00::1 → fd00::2, AF_INET6 sockets, a tcp6 n-tuple rule) */
  ipv6?: boolean;
  pcap?: string;
  gbps: number;
  delayUs: number;
  rxQueues: number;
  /** device memory bound to the queue, bytes */
  dmabufSize: number;
  /** ncdevmem pattern period (-v N) */
  period: number;
  /** recvmsg iov length (ncdevmem: 800 KiB) */
  iovLen: number;
  /** recvmsg control buffer length (ncdevmem: 80 000) */
  controlLen: number;
  /** fail when no payload byte was delivered for this long, virtual µs (default 30 s) */
  stallUs?: number;
  /** called now and then with bytes received so far */
  onProgress?: (bytes: number, virtualUs: number) => void;
  /**
   * an observer of the run (`devmem demo --report`): started once both sockets exist, stopped
   * when the run ends, before the network closes. Absent: nothing is sampled (no timer, no cost).
   */
  probe?: TransferProbe;
}

/** what a run's observer may read: the run's own objects and the receiver's running totals */
export interface TransferView {
  net: Network;
  a: Host;
  b: Host;
  /** host A's device and host B's (B's last rx queue is the devmem one) */
  devA: NetDevice;
  devB: NetDevice;
  /** B's rx queue the flow is steered to */
  rxq: NetDevice['rxQueues'][number];
  wire: WireT['stats'];
  sender: Socket;
  /** the accepted socket, null until accepted */
  receiver(): Socket | null;
  /** device buffers (4 KiB) in the bound dma-buf; 0 in copy mode */
  dmabufPages: number;
  progress: Readonly<{ bytes: number; tokensIssued: number; tokensReturned: number }>;
}

export interface TransferProbe {
  start(view: TransferView): void;
  stop(): void;
}

export interface TransferResult {
  mode: 'devmem' | 'copy';
  /** IP version the transfer ran over */
  family: 4 | 6;
  /** bytes asked for / delivered */
  size: number;
  bytes: number;
  /** every byte arrived and the peer closed */
  completed: boolean;
  /** a one-line diagnosis when the transfer did not complete (stall, error), else null */
  failure: string | null;
  validated: boolean;
  mismatches: number;
  tokensIssued: number;
  tokensReturned: number;
  linearBytes: number;
  dmabufBytes: number;
  /**
   * device-memory payload bytes the host could see: every device-to-host transfer (NIC DMA reads
   * for the wire, linearization, staged copies: `hostVisiblePayloadBytes`) plus the application's
   * explicit copyToHost. 0 for a receive-only devmem run; anything reading device memory moves it.
   */
  hostPayloadBytesRead: number;
  /** the stack's part of it alone (DeviceMemory `stats.hostVisibleBytes`) */
  hostVisiblePayloadBytes: number;
  virtualSeconds: number;
  wallSeconds: number;
  gbps: number;
  virtualGbps: number;
  mtu: number;
  loss: number;
  seed: number;
  bindingId: number;
  steeringErrors: number;
  recvCalls: number;
  /** the sender's TCP counters and the A→B wire's (frames offered, lost, duplicated, reordered, corrupted) */
  packets: {
    dataSegsOut: number; retransSegs: number; timeouts: number; fastRetrans: number; wireLost: number; wireFrames: number;
    wireDuplicated: number; wireReordered: number; wireCorrupted: number;
  };
  rxQueue: { rxPackets: number; rxAllocFail: number; rxHwDrops: number; rxCsumUnnecessary: number; rxCsumBad: number };
  pagePool: Record<string, number>;
  tokensHighWater: number;
}

export const DEFAULT_STALL_US = 30_000_000;

export const DEFAULT_TRANSFER: Omit<TransferOptions, 'size'> = {
  mtu: 1500, loss: 0, seed: 1, mode: 'devmem', gbps: 100, delayUs: 5, rxQueues: 4, dmabufSize: 64 << 20,
  period: 7, iovLen: 800 * 1024, controlLen: 80_000, stallUs: DEFAULT_STALL_US,
};

const PORT = 5201;

function newOutcome(): RecvOutcome {
  return {
    bytes: 0, mismatches: 0, tokensIssued: 0, tokensReturned: 0, linearBytes: 0, dmabufBytes: 0, steeringErrors: 0,
    recvCalls: 0, tokensHighWater: 0,
  };
}

function errText(e: unknown): string {
  if (e instanceof ErrnoError) return e.code;
  return e instanceof Error ? e.message : String(e);
}

export async function runTransfer(o: TransferOptions): Promise<TransferResult> {
  const wallStart = process.hrtime.bigint();
  const net = new Network({ seed: o.seed });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: o.rxQueues, mtu: o.mtu });
  const eb = b.addDevice('eth0', { rxQueues: o.rxQueues, mtu: o.mtu });
  const wire = net.connect(ea, eb, {
    gbps: o.gbps, delayUs: o.delayUs, loss: o.loss, duplicate: o.duplicate ?? 0, reorder: o.reorder ?? 0,
    corrupt: o.corrupt ?? 0, pcap: o.pcap,
  });
  try {
    return await transferOn(o, net, wallStart, a, b, eb, wire);
  } finally {
    // closes every link: the pcap file is flushed and closed on every path
    await net.close();
  }
}

type HostT = ReturnType<Network['addHost']>;
type DevT = ReturnType<HostT['addDevice']>;
type WireT = ReturnType<Network['connect']>;

async function transferOn(o: TransferOptions, net: Network, wallStart: bigint, a: HostT, b: HostT, eb: DevT, wire: WireT): Promise<TransferResult> {
  const fam = o.ipv6 === true ? C.AF_INET6 : C.AF_INET;
  const addrA = o.ipv6 === true ? 'fd00::1' : '10.0.0.1';
  const addrB = o.ipv6 === true ? 'fd00::2' : '10.0.0.2';
  const plen = o.ipv6 === true ? 64 : 24;
  // IPv6 addresses as test setups add them (`ip -6 addr add … nodad`): usable at once
  a.ip.addAddress('eth0', `${addrA}/${plen}`, { nodad: true });
  b.ip.addAddress('eth0', `${addrB}/${plen}`, { nodad: true });
  const devq = o.rxQueues - 1;

  let dmabuf: DeviceMemory | null = null;
  let bindingId = 0;
  const nl = b.netlink();
  if (o.mode === 'devmem') {
    // what ncdevmem sets up: HDS on, RSS away from the devmem queue, an n-tuple rule to it, bind
    b.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
    b.ethtool.setRss('eth0', { equal: devq });
    b.ethtool.addNtupleRule('eth0', { flowType: o.ipv6 === true ? 'tcp6' : 'tcp4', dstIp: addrB, dstPort: PORT, action: devq });
    dmabuf = b.allocDeviceMemory(o.dmabufSize);
    bindingId = (await nl.netdev.bindRx({ ifindex: eb.ifindex, fd: dmabuf.fd, queues: [{ id: devq, type: 'rx' }] })).id;
  }

  const ls = b.socket(fam, C.SOCK_STREAM);
  ls.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
  ls.bind(o.ipv6 === true ? '::' : '0.0.0.0', PORT);
  ls.listen(8);
  const cs = a.socket(fam, C.SOCK_STREAM);

  // the run ends with whichever comes first: the receiver done, an error, or the watchdog
  interface Failed { error?: unknown; side?: 'sender' | 'receiver'; stalled?: boolean }
  let finish: (why: Failed) => void = () => undefined;
  const failed = new Promise<Failed>((resolve) => {
    finish = resolve;
  });

  const sender = (async () => {
    await cs.connect(addrB, PORT);
    const gen = new NcdevmemPattern(o.period);
    const chunk = new Uint8Array(256 * 1024);
    let sent = 0;
    while (sent < o.size) {
      const n = Math.min(chunk.length, o.size - sent);
      gen.generate(chunk, 0, n);
      await cs.send(n === chunk.length ? chunk : chunk.subarray(0, n));
      sent += n;
    }
    // as a client that wants to know the data arrived: FIN, then wait for the peer's FIN (a
    // sender that gives up retransmitting surfaces here as ETIMEDOUT)
    cs.shutdown(C.SHUT_WR);
    while ((await cs.recv(4096)).length > 0);
    cs.close();
  })();
  sender.catch((e: unknown) => finish({ error: e, side: 'sender' }));

  const out = newOutcome();
  let conn: Socket | null = null;
  const receiver = (async () => {
    conn = await ls.accept();
    if (o.mode === 'devmem') await receiveDevmem(conn, dmabuf!, bindingId, o, out);
    else await receiveCopy(conn, o, out);
    conn.close();
    return true;
  })();
  receiver.catch((e: unknown) => finish({ error: e, side: 'receiver' }));
  o.probe?.start({
    net, a, b, devA: a.devices().find((d) => d.name === 'eth0')!, devB: eb, rxq: eb.rxQueues[devq]!, wire: wire.stats, sender: cs,
    receiver: () => conn, dmabufPages: dmabuf !== null ? Math.floor(dmabuf.size / 4096) : 0, progress: out,
  });

  // progress watchdog in virtual time (the one ncdevmem and the bench use): bytes delivered must
  // move within stallUs; it reports the frames offered since the last move
  const stallUs = o.stallUs ?? DEFAULT_STALL_US;
  const frames = (): number => wire.stats.aToB.frames + wire.stats.bToA.frames;
  const watchdog = new ProgressWatchdog(net, stallUs, () => out.bytes, frames);
  let quietFrames = 0;
  void watchdog.stalled.then((seen) => {
    quietFrames = seen.quietActivity;
    finish({ stalled: true });
  });

  const first = await Promise.race([receiver.then(() => null, () => null), failed]);
  watchdog.stop();
  let failure: string | null = null;
  if (first !== null) {
    const ev: StallEvidence = {
      size: o.size, bytes: out.bytes, mode: o.mode, stallUs,
      error: first.error !== undefined ? errText(first.error) : null,
      errorSide: first.side ?? null,
      // only read when the watchdog fired (an error's diagnosis does not use it)
      quietFrames,
      dmabufPages: dmabuf !== null ? Math.floor(dmabuf.size / 4096) : 0,
    };
    if (conn !== null) {
      try {
        out.tokensHighWater = (conn as Socket).tcpInfo().devmemTokensHighWater;
      } catch {
        // the connection is gone
      }
    }
    failure = await diagnoseStall(ev, { a, b, nl, bindingId, conn, cs, rxq: eb.rxQueues[devq]!, wire: wire.stats });
  } else {
    // the sender waits for our FIN; bounded, so a lost ending cannot hang the run
    await Promise.race([sender.catch(() => undefined), net.sleep(stallUs)]);
  }
  ls.close();
  o.probe?.stop();

  const rxq = eb.rxQueues[devq]!;
  const pool = rxq.pool.stats as unknown as Record<string, number>;
  const wireStats = wire.stats.aToB;
  const virtualSeconds = net.now / 1e6;
  const sn = a.snmp().tcp;
  let dataSegsOut = sn.outSegs;
  try {
    dataSegsOut = cs.tcpInfo().dataSegsOut;
  } catch {
    // the socket is gone (an aborted run): the host's OutSegs stand in
  }
  nl.close();
  const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const completed = failure === null && out.bytes === o.size;
  return {
    mode: o.mode,
    family: o.ipv6 === true ? 6 : 4,
    size: o.size,
    bytes: out.bytes,
    completed,
    failure,
    validated: completed && out.mismatches === 0 && out.steeringErrors === 0,
    mismatches: out.mismatches,
    tokensIssued: out.tokensIssued,
    tokensReturned: out.tokensReturned,
    linearBytes: out.linearBytes,
    dmabufBytes: out.dmabufBytes,
    hostPayloadBytesRead: dmabuf ? dmabuf.stats.hostBytesRead + dmabuf.stats.hostVisibleBytes : 0,
    hostVisiblePayloadBytes: dmabuf ? dmabuf.stats.hostVisibleBytes : 0,
    virtualSeconds,
    wallSeconds,
    gbps: (out.bytes * 8) / wallSeconds / 1e9,
    virtualGbps: virtualSeconds > 0 ? (out.bytes * 8) / virtualSeconds / 1e9 : 0,
    mtu: o.mtu,
    loss: o.loss,
    seed: o.seed,
    bindingId,
    steeringErrors: out.steeringErrors,
    recvCalls: out.recvCalls,
    packets: {
      // host A only sends data: its TCP counters are the sender's
      dataSegsOut, retransSegs: sn.retransSegs, timeouts: sn.timeouts, fastRetrans: sn.fastRetrans,
      wireLost: wireStats.lost, wireFrames: wireStats.frames, wireDuplicated: wireStats.duplicated,
      wireReordered: wireStats.reordered, wireCorrupted: wireStats.corrupted,
    },
    rxQueue: {
      rxPackets: rxq.stats.rxPackets, rxAllocFail: rxq.stats.rxAllocFail, rxHwDrops: rxq.stats.rxHwDrops,
      rxCsumUnnecessary: rxq.stats.rxCsumUnnecessary, rxCsumBad: rxq.stats.rxCsumBad,
    },
    pagePool: { ...pool },
    tokensHighWater: out.tokensHighWater,
  };
}

interface RecvOutcome {
  bytes: number;
  mismatches: number;
  tokensIssued: number;
  tokensReturned: number;
  linearBytes: number;
  dmabufBytes: number;
  steeringErrors: number;
  recvCalls: number;
  tokensHighWater: number;
}

/** the ncdevmem server loop: recvmsg(MSG_SOCK_DEVMEM), validate each frag on the device, DONTNEED */
async function receiveDevmem(conn: Socket, dmabuf: DeviceMemory, bindingId: number, o: TransferOptions, out: RecvOutcome): Promise<void> {
  const iov = new Uint8Array(o.iovLen);
  const control = new Uint8Array(o.controlLen);
  const cdv = new DataView(control.buffer);
  const pattern = new NcdevmemPattern(o.period);
  const dontneed = new Uint8Array(8 * C.MAX_DONTNEED_TOKENS);
  const ddv = new DataView(dontneed.buffer);
  let nextProgress = 0;
  for (;;) {
    let n: number;
    try {
      n = await conn.recvmsgInto(iov, control, C.MSG_SOCK_DEVMEM);
    } catch (e) {
      if (e instanceof ErrnoError && e.code === 'EAGAIN') continue;
      throw e;
    }
    out.recvCalls++;
    if (n === 0) break;
    const clen = conn.lastControlLen;
    if (clen === 0) {
      // data without any devmem cmsg: the flow landed on an ordinary queue
      out.steeringErrors++;
      out.mismatches += pattern.check(iov, 0, conn.lastIovUsed);
      out.bytes += n;
      continue;
    }
    // walk the control buffer as C code would: cmsghdr (16 bytes) + dmabuf_cmsg (24 bytes)
    let ranges = 0;
    let runStart = -1;
    let runLen = 0;
    let linearOff = 0;
    for (let off = 0; off + 16 <= clen; ) {
      const cmsgLen = cdv.getUint32(off, true);
      const level = cdv.getInt32(off + 8, true);
      const type = cdv.getInt32(off + 12, true);
      const p = off + 16;
      off += (cmsgLen + 7) & ~7;
      if (level !== C.SOL_SOCKET) continue;
      const fragSize = cdv.getUint32(p + 8, true);
      if (type === C.SCM_DEVMEM_LINEAR) {
        out.mismatches += pattern.check(iov, linearOff, fragSize);
        linearOff += fragSize;
        out.linearBytes += fragSize;
        continue;
      }
      if (type !== C.SCM_DEVMEM_DMABUF) continue;
      const fragOffset = cdv.getUint32(p, true) + cdv.getUint32(p + 4, true) * 4294967296;
      const token = cdv.getUint32(p + 12, true);
      const id = cdv.getUint32(p + 16, true);
      if (id !== bindingId) out.steeringErrors++;
      out.mismatches += dmabuf.validate(fragOffset, fragSize, pattern);
      out.dmabufBytes += fragSize;
      out.tokensIssued++;
      // coalesce consecutive tokens into dmabuf_token ranges
      if (runStart >= 0 && token === runStart + runLen && runLen < C.MAX_DONTNEED_FRAGS) {
        runLen++;
      } else {
        if (runStart >= 0) {
          ddv.setUint32(ranges * 8, runStart, true);
          ddv.setUint32(ranges * 8 + 4, runLen, true);
          ranges++;
          if (ranges === C.MAX_DONTNEED_TOKENS) {
            out.tokensReturned += conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, dontneed.subarray(0, ranges * 8));
            ranges = 0;
          }
        }
        runStart = token;
        runLen = 1;
      }
    }
    if (runStart >= 0) {
      ddv.setUint32(ranges * 8, runStart, true);
      ddv.setUint32(ranges * 8 + 4, runLen, true);
      ranges++;
    }
    if (ranges > 0) out.tokensReturned += conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, dontneed.subarray(0, ranges * 8));
    out.bytes += n;
    if (o.onProgress && out.bytes >= nextProgress) {
      o.onProgress(out.bytes, 0);
      nextProgress = out.bytes + (8 << 20);
    }
  }
  out.tokensHighWater = conn.tcpInfo().devmemTokensHighWater;
}

/** plain receive: copy into a host buffer and validate there */
async function receiveCopy(conn: Socket, o: TransferOptions, out: RecvOutcome): Promise<void> {
  const iov = new Uint8Array(o.iovLen);
  const pattern = new NcdevmemPattern(o.period);
  let nextProgress = 0;
  for (;;) {
    const n = await conn.recvmsgInto(iov, null, 0);
    out.recvCalls++;
    if (n === 0) break;
    out.mismatches += pattern.check(iov, 0, n);
    out.bytes += n;
    if (o.onProgress && out.bytes >= nextProgress) {
      o.onProgress(out.bytes, 0);
      nextProgress = out.bytes + (8 << 20);
    }
  }
}
