/**
 * ncdevmem's server (`-l`): save the ring config, enable header split, take the devmem queues
 * out of RSS, steer the flow to the first of them with an n-tuple rule, bind a dma-buf of 16000
 * pages to the queues with netlink `bind-rx`, listen on an AF_INET6 socket (IPv4 as
 * v4-mapped), accept one connection and receive with MSG_SOCK_DEVMEM (800 KiB iov, 80 000-byte
 * control buffer) until the peer closes. Each SCM_DEVMEM_DMABUF piece is checked for the bound
 * dmabuf_id, validated on the device against the -v pattern (or copied out and printed when
 * there is no -v), and its token handed back with SO_DEVMEM_DONTNEED {token, 1}, which must
 * return 1. Data with no devmem cmsg at all is a flow steering error. On the way out it unbinds
 * (closes the netlink socket), deletes its own rule, resets RSS and restores the ring config.
 *
 * Differences from the C tool, on purpose: the host never reads device memory for validation
 * (the exporter's validate operation counts mismatches, so the message names a count and a
 * stream offset instead of each byte); SCM_DEVMEM_LINEAR bytes, which sit in the iov, are
 * validated too (the tool leaves them as a TODO); after "client exited" it prints the
 * "ncdevmem: ok" and frag totals that the tool's `goto cleanup` skips, and a summary line; a
 * transfer that stops moving fails after `stallUs` with "ncdevmem: stalled: <diagnosis>"
 * (stall.ts) where the tool would wait forever.
 */
import { constants as C, ErrnoError, NcdevmemPattern, type DeviceMemory, type Host, type NetlinkSocket, type Socket } from '../../index.js';
import type { NcdevmemEnv } from './env.js';
import { strerror, ynlError, type Log } from './log.js';
import { watchServer } from './stall.js';
import { StallError, type StallRace } from './watchdog.js';
import {
  configureFlowSteering, configureHeadersplit, configureRss, deleteFlow, getRingConfig, resetRss, restoreRingConfig, type RingConfig,
} from './nic.js';

export const PAGE_SIZE = 4096;
export const NUM_PAGES = 16000;
const IOV_LEN = 819200;
const CTRL_LEN = 4 * 20000;
/** consecutive failing recvmsg calls (other than EAGAIN) before giving up */
const MAX_RECV_ERRORS = 1000;

export interface ServerConfig {
  serverIp: string;
  family: 4 | 6;
  clientIp: string | null;
  port: number;
  validation: number;
  startQueue: number;
  numQueues: number;
  /** fail with a diagnosis when no byte arrived for this long, µs of network time (default 30 s) */
  stallUs?: number;
  /** bytes of device memory to bind (default NUM_PAGES pages, as the tool) */
  dmabufSize?: number;
  /** -b: bind-rx rx-buf-size (bytes per net_iov); omitted: a page */
  rxBufSize?: number;
}

/** what the run did, for the summary line and for tests */
export interface ServerResult {
  exitCode: number;
  bindingId: number;
  totalReceived: number;
  linearBytes: number;
  tokensIssued: number;
  tokensReturned: number;
  hostBytesRead: number;
  pageAlignedFrags: number;
  nonPageAlignedFrags: number;
  /** validation mismatches seen (-v) */
  mismatches: number;
}

/** inet_ntop(AF_INET6) of the socket address ncdevmem builds */
export function ntop6(family: 4 | 6, text: string): string {
  return family === 4 ? `::ffff:${text}` : text;
}

function errText(e: unknown): string {
  if (e instanceof ErrnoError) return strerror(e.code);
  return e instanceof Error ? e.message : String(e);
}

/** a bind-rx through the typed netlink client, printing what ncdevmem's bind_rx_queue prints */
export async function bindRxQueue(
  log: Log, host: Host, ifindex: number, mem: DeviceMemory, startQueue: number, numQueues: number, rxBufSize?: number,
): Promise<{ nl: NetlinkSocket; id: number } | null> {
  const nl = host.netlink();
  const queues = [];
  for (let i = 0; i < numQueues; i++) queues.push({ id: startQueue + i, type: 'rx' as const });
  try {
    const { id } = await nl.netdev.bindRx({ ifindex, fd: mem, queues, ...(rxBufSize !== undefined ? { rxBufSize } : {}) });
    log.err(`got dmabuf id=${id}`);
    return { nl, id };
  } catch (e) {
    log.err(`netdev_bind_rx: ${errText(e)}`);
    log.err(`YNL failed: ${e instanceof ErrnoError ? ynlError(e.code, e.extack?.msg) : errText(e)}`);
    nl.close();
    return null;
  }
}

export async function doServer(env: NcdevmemEnv, cfg: ServerConfig, log: Log): Promise<ServerResult> {
  const { host, ifname } = env;
  const res: ServerResult = {
    exitCode: 1, bindingId: 0, totalReceived: 0, linearBytes: 0, tokensIssued: 0, tokensReturned: 0, hostBytesRead: 0,
    pageAlignedFrags: 0, nonPageAlignedFrags: 0, mismatches: 0,
  };
  const dev = host.device(ifname);
  if (dev === null) {
    log.prErr(`no such device: ${ifname}`);
    return res;
  }
  const mem = host.allocDeviceMemory(cfg.dmabufSize ?? PAGE_SIZE * NUM_PAGES);
  const undo: (() => void)[] = [() => host.closeDeviceMemory(mem)];
  const unwind = (): void => {
    while (undo.length > 0) undo.pop()!();
  };

  try {
    const ring: RingConfig | null = getRingConfig(host, ifname);
    if (ring === null) {
      log.prErr('Failed to get current ring configuration');
      return res;
    }
    undo.push(() => restoreRingConfig(log, host, ifname, ring));
    if (configureHeadersplit(log, host, ifname, true) !== 0) {
      log.prErr('Failed to enable TCP header split');
      return res;
    }
    undo.push(() => resetRss(log, host, ifname));
    if (configureRss(log, host, ifname, cfg.startQueue) !== 0) {
      log.prErr('Failed to configure rss');
      return res;
    }
    const flowId = configureFlowSteering(log, host, ifname, {
      family: cfg.family, serverAddr: cfg.serverIp, clientAddr: cfg.clientIp, port: cfg.port, queue: cfg.startQueue,
    });
    if (flowId < 0) {
      log.prErr('Failed to configure flow steering');
      return res;
    }
    undo.push(() => deleteFlow(log, host, ifname, flowId));

    const bound = await bindRxQueue(log, host, dev.ifindex, mem, cfg.startQueue, cfg.numQueues, cfg.rxBufSize);
    if (bound === null) {
      log.prErr('Failed to bind');
      return res;
    }
    res.bindingId = bound.id;
    undo.push(() => bound.nl.close());

    const fam6 = ntop6(cfg.family, cfg.serverIp);
    const ls = host.socket(C.AF_INET6, C.SOCK_STREAM);
    undo.push(() => ls.close());
    try {
      ls.setsockopt(C.SOL_SOCKET, C.SO_REUSEPORT, 1);
      ls.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
    } catch (e) {
      log.prErr(`SO_REUSEADDR failed: ${errText(e)}`);
      return res;
    }
    log.err(`binding to address ${cfg.serverIp}:${cfg.port}`);
    try {
      ls.bind(fam6, cfg.port);
      ls.listen(1);
    } catch (e) {
      log.prErr(`Failed to bind: ${errText(e)}`);
      return res;
    }
    // "Waiting or" is the tool's own wording
    log.err(`Waiting or connection on ${fam6}:${cfg.port}`);
    env.peerStart();
    log.beforeWait();
    let conn: Socket;
    try {
      conn = await Promise.race([
        ls.accept(),
        env.peerGaveUp().then((msg) => Promise.reject(new Error(`the peer gave up: ${msg}`))),
      ]);
    } catch (e) {
      log.prErr(`Failed to accept: ${errText(e)}`);
      return res;
    }
    undo.push(() => conn.close());
    const peer = conn.getpeername();
    log.err(`Got connection from ${ntop6(peer.addr.family, peer.addr.toString())}:${peer.port}`);

    const pattern = cfg.validation > 0 ? new NcdevmemPattern(cfg.validation) : null;
    // a transfer that stops moving ends with a diagnosis instead of waiting forever (stall.ts)
    const watch = watchServer(env, {
      stallUs: cfg.stallUs ?? 30_000_000, conn, nl: bound.nl, bindingId: bound.id, queue: cfg.startQueue,
      dmabufPages: Math.floor(mem.size / PAGE_SIZE), received: () => res.totalReceived + res.linearBytes,
    });
    undo.push(() => watch.stop());
    res.exitCode = await receiveLoop(conn, mem, bound.id, pattern, log, res, watch);
    res.hostBytesRead = mem.stats.hostBytesRead;
    res.mismatches = pattern === null ? 0 : pattern.errors;
  } finally {
    // what was set up is undone in reverse, whatever happened (the tool's goto ladder)
    unwind();
  }
  return res;
}

/** the recvmsg(MSG_SOCK_DEVMEM) loop; returns the exit code */
async function receiveLoop(
  conn: Socket, mem: DeviceMemory, dmabufId: number, pattern: NcdevmemPattern | null, log: Log, res: ServerResult, watch: StallRace,
): Promise<number> {
  const iov = new Uint8Array(IOV_LEN);
  const ctrl = new Uint8Array(CTRL_LEN);
  const cdv = new DataView(ctrl.buffer);
  const token = new Uint8Array(8);
  const tdv = new DataView(token.buffer);
  let recvErrors = 0;
  for (;;) {
    let ret: number;
    log.beforeWait();
    try {
      ret = await watch.race(conn.recvmsgInto(iov, ctrl, C.MSG_SOCK_DEVMEM));
    } catch (e) {
      if (e instanceof StallError) {
        log.prErr(`stalled: ${e.message}`);
        return 1;
      }
      const code = e instanceof ErrnoError ? e.code : '';
      log.err(`recvmsg ret=-1`);
      if (code === 'EAGAIN') continue;
      log.err(`recvmsg: ${errText(e)}`);
      if (code === 'EFAULT') {
        log.prErr(`received EFAULT, won't recover: ${strerror(code)}`);
        return 1;
      }
      if (code === 'EBADF' || ++recvErrors >= MAX_RECV_ERRORS) {
        log.prErr(`recvmsg keeps failing: ${errText(e)}`);
        return 1;
      }
      continue;
    }
    recvErrors = 0;
    log.err(`recvmsg ret=${ret}`);
    if (ret === 0) {
      log.prErr('client exited');
      break;
    }
    let isDevmem = false;
    let linearOff = 0;
    const clen = conn.lastControlLen;
    for (let off = 0; off + C.CMSG_HDR_LEN <= clen; ) {
      const cmsgLen = cdv.getUint32(off, true);
      const level = cdv.getInt32(off + 8, true);
      const type = cdv.getInt32(off + 12, true);
      const p = off + C.CMSG_HDR_LEN;
      if (cmsgLen < C.CMSG_HDR_LEN) break;
      off += C.CMSG_ALIGN(cmsgLen);
      if (level !== C.SOL_SOCKET || (type !== C.SCM_DEVMEM_DMABUF && type !== C.SCM_DEVMEM_LINEAR)) {
        log.err('skipping non-devmem cmsg');
        continue;
      }
      isDevmem = true;
      const fragSize = cdv.getUint32(p + 8, true);
      if (type === C.SCM_DEVMEM_LINEAR) {
        log.err(`SCM_DEVMEM_LINEAR. dmabuf_cmsg->frag_size=${fragSize}`);
        // these bytes are in the iov (host memory): validate them so the pattern stays in step
        if (pattern !== null) {
          const before = pattern.errors;
          if (!reportPiece(log, pattern, pattern.check(iov, linearOff, fragSize), before)) return 1;
        }
        linearOff += fragSize;
        res.linearBytes += fragSize;
        continue;
      }
      const fragOffset = cdv.getUint32(p, true) + cdv.getUint32(p + 4, true) * 4294967296;
      const fragToken = cdv.getUint32(p + 12, true);
      const id = cdv.getUint32(p + 16, true);
      res.totalReceived += fragSize;
      res.tokensIssued++;
      log.err(
        `received frag_page=${Math.floor(fragOffset / PAGE_SIZE)}, in_page_offset=${fragOffset % PAGE_SIZE}, frag_offset=${fragOffset}, ` +
          `frag_size=${fragSize}, token=${fragToken}, total_received=${res.totalReceived}, dmabuf_id=${id}`,
      );
      if (id !== dmabufId) {
        log.prErr('received on wrong dmabuf_id: flow steering error');
        return 1;
      }
      if (fragSize % PAGE_SIZE !== 0) res.nonPageAlignedFrags++;
      else res.pageAlignedFrags++;
      if (pattern !== null) {
        const before = pattern.errors;
        if (!reportPiece(log, pattern, mem.validate(fragOffset, fragSize, pattern), before)) return 1;
      } else {
        // no -v: the tool copies the piece out of the buffer and prints it (a counted host read)
        log.out(Buffer.from(mem.copyToHost(fragOffset, fragSize)).toString('latin1'));
      }
      tdv.setUint32(0, fragToken, true);
      tdv.setUint32(4, 1, true);
      let freed: number;
      try {
        freed = conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, token);
      } catch {
        freed = -1;
      }
      if (freed !== 1) {
        log.prErr('SO_DEVMEM_DONTNEED not enough tokens');
        return 1;
      }
      res.tokensReturned++;
    }
    if (!isDevmem) {
      log.prErr('flow steering error');
      return 1;
    }
    log.err(`total_received=${res.totalReceived}`);
  }
  log.prErr('ok');
  log.err(`page_aligned_frags=${res.pageAlignedFrags}, non_page_aligned_frags=${res.nonPageAlignedFrags}`);
  log.err(
    `summary: received ${res.totalReceived + res.linearBytes} bytes (${res.totalReceived} in device memory, ${res.linearBytes} linear), ` +
      `tokens issued ${res.tokensIssued}, returned ${res.tokensReturned}, host bytes read ${mem.stats.hostBytesRead} (the stack: ${mem.stats.hostVisibleBytes})`,
  );
  return 0;
}

/**
 * One validated piece: mismatches are reported (the device only tells how many and where the
 * first one was) and more than 20 in all fail the run, as in the tool's validate_buffer.
 */
function reportPiece(log: Log, pattern: NcdevmemPattern, bad: number, before: number): boolean {
  if (bad > 0) {
    const at = before === 0 ? pattern.firstErrorAt : -1;
    log.err(`Failed validation: ${bad} byte(s) differ from the pattern${at >= 0 ? `, first at stream offset ${at}` : ''}`);
    if (pattern.errors > 20) {
      log.prErr('validation failed');
      return false;
    }
  }
  log.out('Validated buffer\n');
  return true;
}
