/**
 * The transmit rows of the bench: one simulated bulk transfer A → B (100 Gbit/s, 5 µs wire, as
 * the other simulated rows) whose SENDER is what is measured:
 *  - `devmem-tx`: devmem TX (spec §7). A's 64 MiB dma-buf is bound for TX to its NIC (netlink
 *    bind-tx) and holds the ncdevmem pattern (written by a device operation, outside the timed
 *    part's payload path); the sender walks a 7 MiB ring of it (a multiple of the pattern period,
 *    so the stream stays continuous across wraps) with `sendDevmem` pieces of 256 KiB; the NIC
 *    reads each frame's payload from device memory when it transmits. The region is never
 *    rewritten, so the sender only drains its completions from the error queue;
 *  - `zerocopy`: MSG_ZEROCOPY of an ordinary buffer (a 256 KiB `Uint8Array` per send, pinned, not
 *    copied), the completions drained from the error queue the same way; its plain-`send`
 *    counterpart is the `copy` row.
 * B receives into a host buffer and validates the pattern there (a wrong byte fails the row).
 * Always the build this command belongs to (older builds have no TX path).
 */
import { constants as C, ErrnoError, Network, NcdevmemPattern, type Socket } from '../../index.js';
import { DEFAULT_STALL_US, ProgressWatchdog, StallError, StallRace, fmtSeconds } from '../ncdevmem/watchdog.js';

export interface TxOptions {
  mode: 'devmem-tx' | 'zerocopy';
  mtu: number;
  size: number;
  /** no byte received for this long (µs of virtual time) ends the run as "stalled: …" (default 30 s) */
  stallUs?: number;
  /** probability the wire loses a frame, each direction (tests force a stall with 1) */
  loss?: number;
}

export interface TxResult {
  bytes: number;
  wallSeconds: number;
  validated: boolean;
  problem: string;
  /** zero-copy completions read from the error queue (ids covered) */
  completions: number;
  /** device-memory bytes the NIC read for the wire (devmem-tx), else 0 */
  dmaBytesRead: number;
}

const PORT = 5201;
const PERIOD = 7;
const DMABUF_SIZE = 64 << 20;
/** the part of the dma-buf the sender cycles through: a multiple of the pattern period (7 MiB) */
const RING = PERIOD * (1 << 20);
const CHUNK = 256 * 1024;
const IOV_LEN = 800 * 1024;
/** drain the error queue every this many sends */
const DRAIN_EVERY = 16;
const SOL_IP = 0;
const SOL_IPV6 = 41;

/** reads every pending completion (non-blocking); returns the ids they cover */
async function drainCompletions(s: Socket, ctrl: Uint8Array): Promise<number> {
  let ids = 0;
  const iov = new Uint8Array(0);
  for (;;) {
    let r;
    try {
      r = await s.recvmsg({ iov, control: ctrl, flags: C.MSG_ERRQUEUE | C.MSG_DONTWAIT });
    } catch (e) {
      if (e instanceof ErrnoError && e.code === 'EAGAIN') return ids;
      throw e;
    }
    for (const cm of r.cmsgs) {
      if (cm.kind !== 'other' || (cm.level !== SOL_IP && cm.level !== SOL_IPV6) || cm.data.length < 16) continue;
      const dv = new DataView(cm.data.buffer, cm.data.byteOffset, cm.data.byteLength);
      ids += ((dv.getUint32(12, true) - dv.getUint32(8, true)) >>> 0) + 1;
    }
  }
}

export async function txTransfer(o: TxOptions): Promise<TxResult> {
  const t0 = process.hrtime.bigint();
  const net = new Network({ seed: 1 });
  try {
    const a = net.addHost('a');
    const b = net.addHost('b');
    const ea = a.addDevice('eth0', { rxQueues: 4, mtu: o.mtu });
    const eb = b.addDevice('eth0', { rxQueues: 4, mtu: o.mtu });
    net.connect(ea, eb, { gbps: 100, delayUs: 5, loss: o.loss ?? 0 });
    a.ip.addAddress('eth0', '10.0.0.1/24');
    b.ip.addAddress('eth0', '10.0.0.2/24');
    const nl = a.netlink();
    let bindingId = 0;
    const dmabuf = o.mode === 'devmem-tx' ? a.allocDeviceMemory(DMABUF_SIZE) : null;
    if (dmabuf !== null) {
      dmabuf.fill(0, RING, new NcdevmemPattern(PERIOD));
      bindingId = (await nl.netdev.bindTx({ ifindex: ea.ifindex, fd: dmabuf })).id;
    }
    const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
    ls.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    ls.bind('0.0.0.0', PORT);
    ls.listen(8);
    const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
    cs.setsockopt(C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
    let completions = 0;
    const sender = (async () => {
      await cs.connect('10.0.0.2', PORT);
      const ctrl = new Uint8Array(256);
      const gen = new NcdevmemPattern(PERIOD);
      let sent = 0;
      let pos = 0;
      let sends = 0;
      while (sent < o.size) {
        let n: number;
        if (dmabuf !== null) {
          n = await cs.sendDevmem(bindingId, { offset: pos, length: Math.min(CHUNK, o.size - sent, RING - pos) });
          pos = (pos + n) % RING;
        } else {
          // a fresh buffer per send: it belongs to the stack until its completion
          const buf = new Uint8Array(Math.min(CHUNK, o.size - sent));
          gen.generate(buf, 0, buf.length);
          n = await cs.send(buf, C.MSG_ZEROCOPY);
        }
        sent += n;
        if (++sends % DRAIN_EVERY === 0) completions += await drainCompletions(cs, ctrl);
      }
      cs.close();
    })();
    const senderFailed = new Promise<never>((_, reject) => {
      sender.catch(reject);
    });
    let bytes = 0;
    let mismatches = 0;
    // a run that stops moving ends with the sender's state instead of waiting for the wall clock
    const watch = new StallRace(new ProgressWatchdog(net, o.stallUs ?? DEFAULT_STALL_US, () => bytes), (seen) => {
      const i = cs.tcpInfo();
      return Promise.resolve(`no byte received for ${fmtSeconds(seen.stallUs)} s: ${bytes} of ${o.size} bytes; sender ${i.state}, ` +
        `${i.sndQueued} bytes unacknowledged, ${i.retransSegs} retransmitted segments, ${completions} completions read`);
    });
    let stalled: string | null = null;
    let conn: Socket | null = null;
    try {
      const c = await watch.race(Promise.race([ls.accept(), senderFailed]));
      conn = c;
      const iov = new Uint8Array(IOV_LEN);
      const check = new NcdevmemPattern(PERIOD);
      for (;;) {
        const n = await watch.race(Promise.race([c.recvmsgInto(iov, null, 0), senderFailed]));
        if (n === 0) break;
        mismatches += check.check(iov, 0, n);
        bytes += n;
      }
    } catch (e) {
      if (!(e instanceof StallError)) throw e;
      stalled = e.message;
    } finally {
      watch.stop();
    }
    (conn as Socket | null)?.close();
    // a stalled sender is left behind: closing the network settles it
    if (stalled === null) await sender;
    ls.close();
    nl.close();
    const dmaBytesRead = dmabuf === null ? 0 : dmabuf.stats.dmaBytesRead;
    net.close();
    const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    let problem = '';
    if (stalled !== null) problem = `stalled: ${stalled}`;
    else if (bytes !== o.size) problem = `received ${bytes} of ${o.size} bytes`;
    else if (mismatches !== 0) problem = `${mismatches} bytes differ from the pattern`;
    return { bytes, wallSeconds, validated: problem === '', problem, completions, dmaBytesRead };
  } catch (e) {
    try {
      net.close();
    } catch {
      // already closed
    }
    throw e;
  }
}
