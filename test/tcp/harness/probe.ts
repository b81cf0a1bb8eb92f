/**
 * The one place the TCP harness reads stack internals (not a test file): a socket's state and
 * sequence variables behind an fd, the host's hashed connections, skb and page counts. Kept
 * narrow so that a TCP reorganisation only needs this file adapted.
 */
import type { Host } from '../../../src/index.js';
import { TcpSockFile } from '../../../src/socket/sys/tcp-sock.js';
import { TCP_STATE_NAMES, type TcpSock } from '../../../src/tcp/index.js';

/** the TCP socket behind `fd` on `h` (throws if there is none: a harness misuse) */
export function tcpSockOf(h: Host, fd: number): TcpSock {
  const f = h.sys.sock(fd);
  if (typeof f === 'number' || !(f instanceof TcpSockFile)) throw new Error(`fd ${fd} is not a TCP socket`);
  return f.tp;
}

/** a snapshot of a socket's variables the tests assert on */
export interface TcpVars {
  state: string;
  iss: number;
  irs: number;
  sndUna: number;
  sndNxt: number;
  rcvNxt: number;
  sndWnd: number;
}

export function tcpVars(tp: TcpSock): TcpVars {
  return {
    state: TCP_STATE_NAMES[tp.state] ?? String(tp.state),
    iss: tp.iss, irs: tp.irs, sndUna: tp.sndUna, sndNxt: tp.sndNxt, rcvNxt: tp.rcvNxt, sndWnd: tp.sndWnd,
  };
}

export function stateName(tp: TcpSock): string {
  return TCP_STATE_NAMES[tp.state] ?? String(tp.state);
}

/** connections in the host's established hash (SYN_RECV .. TIME_WAIT), by state name */
export function hashedConnections(h: Host): Map<string, number> {
  const m = new Map<string, number>();
  h.kernel.tcp.demux.forEach((tp) => { const n = stateName(tp); m.set(n, (m.get(n) ?? 0) + 1); });
  return m;
}

export function hashedCount(h: Host): number {
  let n = 0;
  h.kernel.tcp.demux.forEach(() => { n++; });
  return n;
}

/** skbs allocated and not freed on `h` */
export function liveSkbs(h: Host): number {
  return h.kernel.skbs.live;
}

/** host pages in use on `h` */
export function pagesInUse(h: Host): number {
  return h.kernel.mem.host.inUse;
}
