/**
 * ncdevmem's client (no `-l`): devmem TX, as the selftest's `do_client` (6.16+, with `-z`).
 * Binds a dma-buf of 16000 pages for TX on the interface (netlink `bind-tx`), opens an AF_INET6
 * socket (IPv4 as v4-mapped) with SO_REUSEPORT/SO_REUSEADDR, binds it to `-c`:`-p` when -c is
 * given, turns SO_ZEROCOPY on and connects to `-s`:`-p`. Then, for each line of the input
 * (newline included, as getline returns it): writes the line into the dma-buf at offset 0 (a
 * device operation: the host's copy goes to the device, never the other way), sends it with
 * `sendmsg(MSG_ZEROCOPY)` and an SCM_DEVMEM_DMABUF cmsg, the iovecs at offsets 0, z, 2z, … of at
 * most `-z` bytes each (one iovec without -z; at most 1024), requires the whole line to be
 * queued ("sendmsg_ret=N"), and waits up to 500 ms for the send's completion on the error queue
 * (origin SO_EE_ORIGIN_ZEROCOPY, errno 0: "tx complete [lo,hi]") before the next line reuses the
 * buffer. "ncdevmem: tx ok" at the end.
 *
 * Differences from the C tool, on purpose: SO_BINDTODEVICE is not set (the stack has no
 * bound-device routing yet); every send checks that its route leaves through the binding's
 * device instead (ENODEV otherwise), which is what the option guards.
 */
import { constants as C, ErrnoError, type DeviceMemory, type Host, type NetlinkSocket, type Socket } from '../../index.js';
import type { NcdevmemEnv } from './env.js';
import { strerror, ynlError, type Log } from './log.js';
import { NUM_PAGES, PAGE_SIZE } from './server.js';
import { diagnoseClient } from './stall.js';

/** ncdevmem MAX_IOV */
export const MAX_IOV = 1024;
/** ncdevmem waittime_ms: how long a send's completion may take */
export const WAITTIME_US = 500_000;
/** errqueue uapi (linux/errqueue.h, in.h, in6.h) */
const SO_EE_ORIGIN_ZEROCOPY = 5;
const IP_RECVERR = 11;
const IPV6_RECVERR = 25;
const SOL_IP = 0;
const SOL_IPV6 = 41;
const MSG_ERRQUEUE = 0x2000;
const POLLERR = 0x8;

export interface ClientConfig {
  /** -s as given (IPv4 text is used v4-mapped) */
  serverIp: string;
  family: 4 | 6;
  clientIp: string | null;
  port: number;
  /** -z: the largest iovec; 0 = one iovec per line */
  maxChunk: number;
}

/** what the run did, for --json and for tests */
export interface ClientResult {
  exitCode: number;
  bindingId: number;
  /** lines sent, bytes sent, sendmsg calls and iovecs used */
  lines: number;
  bytes: number;
  iovecs: number;
  /** completions seen: [lo, hi] per line */
  completions: [number, number][];
  /** device-memory bytes that reached host-visible memory (the NIC's DMA reads for the wire) */
  hostVisibleBytes: number;
}

function errText(e: unknown): string {
  if (e instanceof ErrnoError) return strerror(e.code);
  return e instanceof Error ? e.message : String(e);
}

/** splits `input` the way getline does: every piece ends at a newline, the last may not */
export function splitLines(input: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] === 0x0a) {
      out.push(input.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < input.length) out.push(input.subarray(start));
  return out;
}

/** the iovecs of one line: (offset, length) pairs at 0, z, 2z, … or null when more than MAX_IOV */
export function lineIovecs(lineSize: number, maxChunk: number): Float64Array | null {
  if (maxChunk <= 0) return Float64Array.of(0, lineSize);
  const n = Math.ceil(lineSize / maxChunk);
  if (n > MAX_IOV) return null;
  const v = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    v[2 * i] = i * maxChunk;
    v[2 * i + 1] = i === n - 1 ? lineSize - (n - 1) * maxChunk : maxChunk;
  }
  return v;
}

/** a bind-tx through the typed netlink client, printing what ncdevmem's bind_tx_queue prints */
async function bindTxQueue(log: Log, host: Host, ifindex: number, mem: DeviceMemory): Promise<{ nl: NetlinkSocket; id: number } | null> {
  const nl = host.netlink();
  try {
    const { id } = await nl.netdev.bindTx({ ifindex, fd: mem });
    log.err(`got tx dmabuf id=${id}`);
    return { nl, id };
  } catch (e) {
    log.err(`netdev_bind_tx: ${errText(e)}`);
    log.err(`YNL failed: ${e instanceof ErrnoError ? ynlError(e.code, e.extack?.msg) : errText(e)}`);
    nl.close();
    return null;
  }
}

export async function doClient(env: NcdevmemEnv, cfg: ClientConfig, input: Uint8Array, log: Log): Promise<ClientResult> {
  const { host, ifname } = env;
  const res: ClientResult = { exitCode: 1, bindingId: 0, lines: 0, bytes: 0, iovecs: 0, completions: [], hostVisibleBytes: 0 };
  const dev = host.device(ifname);
  if (dev === null) {
    log.prErr(`no such device: ${ifname}`);
    return res;
  }
  const mem = host.allocDeviceMemory(PAGE_SIZE * NUM_PAGES);
  const undo: (() => void)[] = [() => host.closeDeviceMemory(mem)];
  try {
    const server6 = cfg.family === 4 ? `::ffff:${cfg.serverIp}` : cfg.serverIp;
    const sock = host.socket(C.AF_INET6, C.SOCK_STREAM);
    undo.push(() => sock.close());
    try {
      sock.setsockopt(C.SOL_SOCKET, C.SO_REUSEPORT, 1);
      sock.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    } catch (e) {
      log.prErr(`SO_REUSEADDR failed: ${errText(e)}`);
      return res;
    }
    const bound = await bindTxQueue(log, host, dev.ifindex, mem);
    if (bound === null) {
      log.prErr('Failed to bind');
      return res;
    }
    res.bindingId = bound.id;
    undo.push(() => bound.nl.close());
    if (cfg.clientIp !== null) {
      try {
        sock.bind(cfg.family === 4 ? `::ffff:${cfg.clientIp}` : cfg.clientIp, cfg.port);
      } catch (e) {
        log.prErr(`bind: ${errText(e)}`);
        return res;
      }
    }
    try {
      sock.setsockopt(C.SOL_SOCKET, C.SO_ZEROCOPY, 1);
    } catch (e) {
      log.prErr(`set sock opt: ${errText(e)}`);
      return res;
    }
    log.err(`Connect to ${cfg.serverIp} ${cfg.port} (via ${ifname})`);
    env.peerStart();
    log.beforeWait();
    try {
      await sock.connect(server6, cfg.port);
    } catch (e) {
      log.prErr(`connect: ${errText(e)}`);
      return res;
    }
    for (const line of splitLines(input)) {
      const v = lineIovecs(line.length, cfg.maxChunk);
      if (v === null) {
        log.prErr(`can't partition ${line.length} bytes into maximum of ${MAX_IOV} chunks`);
        return res;
      }
      mem.writeFromHost(0, line);
      let ret: number;
      try {
        ret = await sock.sendDevmem(bound.id, v);
      } catch (e) {
        log.prErr(`Failed sendmsg: ${errText(e)}`);
        return res;
      }
      log.err(`sendmsg_ret=${ret}`);
      if (ret !== line.length) {
        log.prErr(`Did not send all bytes ${ret} vs ${line.length}`);
        return res;
      }
      res.lines++;
      res.bytes += ret;
      res.iovecs += v.length >> 1;
      log.beforeWait();
      const c = await waitCompl(host, sock, log);
      if (c === 'timeout') log.prErr(`stalled: ${await diagnoseClient(env, sock, bound.nl, res.bytes, WAITTIME_US)}`);
      if (c === null || c === 'timeout') return res;
      res.completions.push(c);
    }
    log.err('ncdevmem: tx ok');
    res.exitCode = 0;
  } finally {
    res.hostVisibleBytes = mem.stats.hostVisibleBytes;
    while (undo.length > 0) undo.pop()!();
  }
  return res;
}

/**
 * ncdevmem's wait_compl: polls for POLLERR and reads the error queue until a ZEROCOPY
 * notification arrives (→ [lo, hi]) or WAITTIME_US passes (→ 'timeout', "did not receive tx
 * completion"). A notification with another origin or a non-zero errno fails the run.
 */
async function waitCompl(host: Host, sock: Socket, log: Log): Promise<[number, number] | null | 'timeout'> {
  const deadline = host.now + WAITTIME_US;
  const ctrl = new Uint8Array(16 + 104);
  const iov = new Uint8Array(0);
  const pfd = [{ fd: sock.fd, events: POLLERR, revents: 0 }];
  for (;;) {
    const left = deadline - host.now;
    if (left <= 0) break;
    const n = await host.sys.pollWait(pfd, left);
    if (n === 0 || (pfd[0]!.revents & POLLERR) === 0) continue;
    let r;
    try {
      r = await sock.recvmsg({ iov, control: ctrl, flags: MSG_ERRQUEUE });
    } catch (e) {
      if (e instanceof ErrnoError && e.code === 'EAGAIN') continue;
      log.prErr(`recvmsg(MSG_ERRQUEUE): ${errText(e)}`);
      return null;
    }
    if ((r.flags & C.MSG_CTRUNC) !== 0) {
      log.prErr('MSG_CTRUNC');
      return null;
    }
    for (const cm of r.cmsgs) {
      if (cm.kind !== 'other') continue;
      if (!((cm.level === SOL_IP && cm.type === IP_RECVERR) || (cm.level === SOL_IPV6 && cm.type === IPV6_RECVERR))) continue;
      if (cm.data.length < 16) continue;
      const dv = new DataView(cm.data.buffer, cm.data.byteOffset, cm.data.byteLength);
      const eeErrno = dv.getUint32(0, true);
      const origin = cm.data[4]!;
      if (origin !== SO_EE_ORIGIN_ZEROCOPY) {
        log.prErr(`wrong origin ${origin}`);
        return null;
      }
      if (eeErrno !== 0) {
        log.prErr(`wrong errno ${eeErrno}`);
        return null;
      }
      const lo = dv.getUint32(8, true);
      const hi = dv.getUint32(12, true);
      // printed with %d, as the tool does
      log.err(`tx complete [${lo | 0},${hi | 0}]`);
      return [lo, hi];
    }
  }
  log.prErr('did not receive tx completion');
  return 'timeout';
}

