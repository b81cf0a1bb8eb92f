/**
 * One bulk TCP transfer between two simulated hosts, in devmem mode (host B's flow steered to an
 * rx queue bound to device memory, received with MSG_SOCK_DEVMEM, validated on the device,
 * tokens returned with SO_DEVMEM_DONTNEED) or in copy mode (plain recv into a host buffer,
 * validated on the host). Shared by `devmem demo` and `devmem bench`. Uses the public API only.
 */
import { constants as C, DeviceMemory, ErrnoError, NcdevmemPattern, Network, type Socket } from '../index.js';

export interface TransferOptions {
  size: number;
  mtu: number;
  loss: number;
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
  /** called now and then with bytes received so far */
  onProgress?: (bytes: number, virtualUs: number) => void;
}

export interface TransferResult {
  mode: 'devmem' | 'copy';
  /** IP version the transfer ran over */
  family: 4 | 6;
  bytes: number;
  validated: boolean;
  mismatches: number;
  tokensIssued: number;
  tokensReturned: number;
  linearBytes: number;
  dmabufBytes: number;
  hostPayloadBytesRead: number;
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
  packets: { dataSegsOut: number; retransSegs: number; timeouts: number; fastRetrans: number; wireLost: number; wireFrames: number };
  rxQueue: { rxPackets: number; rxAllocFail: number; rxHwDrops: number; rxCsumUnnecessary: number; rxCsumBad: number };
  pagePool: Record<string, number>;
  tokensHighWater: number;
}

export const DEFAULT_TRANSFER: Omit<TransferOptions, 'size'> = {
  mtu: 1500, loss: 0, seed: 1, mode: 'devmem', gbps: 100, delayUs: 5, rxQueues: 4, dmabufSize: 64 << 20,
  period: 7, iovLen: 800 * 1024, controlLen: 80_000,
};

const PORT = 5201;

export async function runTransfer(o: TransferOptions): Promise<TransferResult> {
  const wallStart = process.hrtime.bigint();
  const net = new Network({ seed: o.seed });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: o.rxQueues, mtu: o.mtu });
  const eb = b.addDevice('eth0', { rxQueues: o.rxQueues, mtu: o.mtu });
  const wire = net.connect(ea, eb, { gbps: o.gbps, delayUs: o.delayUs, loss: o.loss, pcap: o.pcap });
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
    cs.close();
  })();

  const conn = await ls.accept();
  const res = o.mode === 'devmem'
    ? await receiveDevmem(conn, dmabuf!, bindingId, o)
    : await receiveCopy(conn, o);
  conn.close();
  await sender;
  ls.close();

  const rxq = eb.rxQueues[devq]!;
  const pool = rxq.pool.stats as unknown as Record<string, number>;
  const wireStats = wire.stats.aToB;
  const virtualSeconds = net.now / 1e6;
  const tcb = cs.tcpInfo();
  nl.close();
  net.close();
  const wallSeconds = Number(process.hrtime.bigint() - wallStart) / 1e9;
  return {
    mode: o.mode,
    family: o.ipv6 === true ? 6 : 4,
    bytes: res.bytes,
    validated: res.bytes === o.size && res.mismatches === 0 && res.steeringErrors === 0,
    mismatches: res.mismatches,
    tokensIssued: res.tokensIssued,
    tokensReturned: res.tokensReturned,
    linearBytes: res.linearBytes,
    dmabufBytes: res.dmabufBytes,
    hostPayloadBytesRead: dmabuf ? dmabuf.stats.hostBytesRead : 0,
    virtualSeconds,
    wallSeconds,
    gbps: (res.bytes * 8) / wallSeconds / 1e9,
    virtualGbps: virtualSeconds > 0 ? (res.bytes * 8) / virtualSeconds / 1e9 : 0,
    mtu: o.mtu,
    loss: o.loss,
    seed: o.seed,
    bindingId,
    steeringErrors: res.steeringErrors,
    recvCalls: res.recvCalls,
    packets: {
      dataSegsOut: tcb.dataSegsOut, retransSegs: tcb.retransSegs, timeouts: tcb.timeouts, fastRetrans: tcb.fastRetrans,
      wireLost: wireStats.lost, wireFrames: wireStats.frames,
    },
    rxQueue: {
      rxPackets: rxq.stats.rxPackets, rxAllocFail: rxq.stats.rxAllocFail, rxHwDrops: rxq.stats.rxHwDrops,
      rxCsumUnnecessary: rxq.stats.rxCsumUnnecessary, rxCsumBad: rxq.stats.rxCsumBad,
    },
    pagePool: { ...pool },
    tokensHighWater: res.tokensHighWater,
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
async function receiveDevmem(conn: Socket, dmabuf: DeviceMemory, bindingId: number, o: TransferOptions): Promise<RecvOutcome> {
  const iov = new Uint8Array(o.iovLen);
  const control = new Uint8Array(o.controlLen);
  const cdv = new DataView(control.buffer);
  const pattern = new NcdevmemPattern(o.period);
  const dontneed = new Uint8Array(8 * C.MAX_DONTNEED_TOKENS);
  const ddv = new DataView(dontneed.buffer);
  const out: RecvOutcome = {
    bytes: 0, mismatches: 0, tokensIssued: 0, tokensReturned: 0, linearBytes: 0, dmabufBytes: 0, steeringErrors: 0,
    recvCalls: 0, tokensHighWater: 0,
  };
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
  return out;
}

/** plain receive: copy into a host buffer and validate there */
async function receiveCopy(conn: Socket, o: TransferOptions): Promise<RecvOutcome> {
  const iov = new Uint8Array(o.iovLen);
  const pattern = new NcdevmemPattern(o.period);
  const out: RecvOutcome = {
    bytes: 0, mismatches: 0, tokensIssued: 0, tokensReturned: 0, linearBytes: 0, dmabufBytes: 0, steeringErrors: 0,
    recvCalls: 0, tokensHighWater: 0,
  };
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
  return out;
}
