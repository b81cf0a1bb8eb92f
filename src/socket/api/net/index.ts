/**
 * Node's `net` module over one host's TCP: `createNetApi(env)` is what `host.net` holds —
 * `createServer`, `connect` / `createConnection` in every argument form, `Socket` and `Server`
 * constructors bound to the host, `isIP` / `isIPv4` / `isIPv6`. `NetSocket` and `NetServer`
 * follow Node's documented behaviour (see their modules); an `http.Agent` whose
 * `createConnection` is `host.net.createConnection` runs Node's http client over this stack, and
 * `httpServer.emit('connection', socket)` its server.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { normalizeArgs, type NetConnectOpts } from './args.js';
import type { NetEnv } from './handle.js';
import { NetServer, type NetServerOptions } from './server.js';
import { NetSocket, type NetSocketOptions } from './socket.js';

export { NetSocket, type NetSocketOptions, type SocketServer } from './socket.js';
export { NetServer, type NetServerOptions } from './server.js';
export { TcpHandle, type NetEnv, type HandleOwner } from './handle.js';
export type { AddressInfo as NetAddressInfo, NetConnectOpts, NetListenOpts } from './args.js';

type ConnectionListener = (s: NetSocket) => void;

/** the `net` facade of a host */
export interface NetApi {
  createServer(options?: NetServerOptions | ConnectionListener | null, connectionListener?: ConnectionListener): NetServer;
  connect(options: NetConnectOpts, connectListener?: () => void): NetSocket;
  connect(port: number | string, host?: string, connectListener?: () => void): NetSocket;
  connect(port: number | string, connectListener?: () => void): NetSocket;
  createConnection(options: NetConnectOpts, connectListener?: () => void): NetSocket;
  createConnection(port: number | string, host?: string, connectListener?: () => void): NetSocket;
  createConnection(port: number | string, connectListener?: () => void): NetSocket;
  /** `new host.net.Socket([options])`, then `.connect(...)` */
  readonly Socket: new (options?: NetSocketOptions) => NetSocket;
  /** `new host.net.Server([options][, connectionListener])` */
  readonly Server: new (options?: NetServerOptions | ConnectionListener | null, connectionListener?: ConnectionListener) => NetServer;
  isIP(input: string): number;
  isIPv4(input: string): boolean;
  isIPv6(input: string): boolean;
}

export function createServer(env: NetEnv, options?: NetServerOptions | ConnectionListener | null, connectionListener?: ConnectionListener): NetServer {
  return new NetServer(env, options, connectionListener);
}

/** net.connect / net.createConnection: a new socket, its timeout option, then connect */
export function connect(env: NetEnv, ...args: unknown[]): NetSocket {
  const [options, cb] = normalizeArgs(args);
  const o = options as NetConnectOpts;
  const s = new NetSocket(env, {
    allowHalfOpen: Boolean(o.allowHalfOpen),
    ...(o.noDelay !== undefined ? { noDelay: o.noDelay } : {}),
    ...(o.keepAlive !== undefined ? { keepAlive: o.keepAlive } : {}),
    ...(typeof o.keepAliveInitialDelay === 'number' ? { keepAliveInitialDelay: o.keepAliveInitialDelay } : {}),
    ...(typeof o.highWaterMark === 'number' ? { highWaterMark: o.highWaterMark } : {}),
  });
  if (o.timeout) s.setTimeout(o.timeout);
  return cb !== null ? s.connect(o, cb as () => void) : s.connect(o);
}

export function createNetApi(env: NetEnv): NetApi {
  class Socket extends NetSocket {
    constructor(options?: NetSocketOptions) {
      super(env, options);
    }
  }
  class Server extends NetServer {
    constructor(options?: NetServerOptions | ConnectionListener | null, connectionListener?: ConnectionListener) {
      super(env, options, connectionListener);
    }
  }
  const conn = (...args: unknown[]): NetSocket => connect(env, ...args);
  return {
    createServer: (options, listener) => createServer(env, options, listener),
    connect: conn as NetApi['connect'],
    createConnection: conn as NetApi['createConnection'],
    Socket,
    Server,
    isIP,
    isIPv4,
    isIPv6,
  };
}
