/**
 * The few TCP entry points whose signatures follow TCP's address and flag representation, in
 * one place so that the socket layer adapts to TCP here only. Addresses cross as `InetAddr`.
 */
import type { InetAddr } from '../../inet/index.js';
import type { TcpProto, TcpSock } from '../../tcp/index.js';
import { AF_INET6 } from '../../uapi/index.js';

/** options the port table reads from the socket at bind / connect time */
export interface BindOpts {
  readonly reuseAddr: boolean;
  readonly reusePort: boolean;
  readonly v6only: boolean;
}

export function tcpSocket(tcp: TcpProto, family: number): TcpSock {
  return tcp.socket(family === AF_INET6 ? 6 : 4);
}

function applyOpts(tp: TcpSock, o: BindOpts): void {
  tp.reuseAddr = o.reuseAddr;
  tp.reusePort = o.reusePort;
  tp.v6only = o.v6only;
}

/** bind: 0 or -errno (EADDRINUSE, EADDRNOTAVAIL) */
export function tcpBind(tcp: TcpProto, tp: TcpSock, o: BindOpts, addr: InetAddr, port: number): number {
  applyOpts(tp, o);
  return tcp.userBind(tp, addr, port);
}

export function tcpConnect(tcp: TcpProto, tp: TcpSock, o: BindOpts, addr: InetAddr, port: number): number {
  applyOpts(tp, o);
  return tcp.userConnect(tp, addr, port);
}

/** tcp_disconnect */
export function tcpDisconnect(tcp: TcpProto, tp: TcpSock): number {
  return tcp.userDisconnect(tp);
}

export function tcpLocal(tp: TcpSock): { addr: InetAddr; port: number } {
  return { addr: tp.laddr, port: tp.lport };
}

export function tcpPeer(tp: TcpSock): { addr: InetAddr; port: number } {
  return { addr: tp.raddr, port: tp.rport };
}
