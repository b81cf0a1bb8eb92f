/**
 * Node-style streams over our sockets, for readable (non-devmem) traffic: `createServer` /
 * `connect` give `NetSocket`s, Duplex streams shaped like `net.Socket` ('connect', 'data',
 * 'end', 'close', 'error'; `end()` sends FIN, `destroy()` closes). Bytes are copied out of the
 * stack into Buffers, so these are for control traffic and tools, not for the zero-copy path.
 */
import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import { InetAddr } from '../../inet/index.js';
import { AF_INET, AF_INET6, SHUT_WR, SOCK_STREAM } from '../../uapi/index.js';
import type { Socket } from './socket.js';

/** what the streams need from a host: its socket() call */
export interface StreamHost {
  socket(family: number, type: number, protocol?: number): Socket;
}

/** the family for a text address (IPv6 text → AF_INET6) */
function familyOf(host: string): number {
  const a = InetAddr.tryParse(host);
  return a !== null && a.family === 6 ? AF_INET6 : AF_INET;
}

export class NetSocket extends Duplex {
  private reading = false;
  remoteAddress = '';
  remotePort = 0;
  localAddress = '';
  localPort = 0;

  constructor(readonly socket: Socket) {
    super({ allowHalfOpen: false });
  }

  /** fills in the addresses once connected */
  attached(): void {
    const l = this.socket.getsockname();
    this.localAddress = String(l.addr);
    this.localPort = l.port;
    try {
      const r = this.socket.getpeername();
      this.remoteAddress = String(r.addr);
      this.remotePort = r.port;
    } catch {
      // not connected
    }
  }

  override _read(size: number): void {
    if (this.reading) return;
    this.reading = true;
    this.socket.recv(Math.max(size, 64 * 1024)).then(
      (chunk) => {
        this.reading = false;
        if (chunk.length === 0) {
          this.push(null);
          return;
        }
        if (this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))) this._read(size);
      },
      (err: unknown) => {
        this.reading = false;
        this.destroy(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.send(chunk).then(
      () => cb(),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      this.socket.shutdown(SHUT_WR);
      cb();
    } catch (err) {
      cb(err instanceof Error ? err : new Error(String(err)));
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.close();
    cb(err);
  }
}

/** `net.Server`-like: emits 'connection' with a NetSocket per accepted connection */
export class NetServer extends EventEmitter {
  private listener: Socket | null = null;
  private closed = false;

  constructor(private readonly env: StreamHost) {
    super();
  }

  listen(port: number, host = '0.0.0.0', backlog = 128): this {
    const ls = this.env.socket(familyOf(host), SOCK_STREAM);
    ls.bind(host, port);
    ls.listen(backlog);
    this.listener = ls;
    void this.acceptLoop(ls);
    queueMicrotask(() => this.emit('listening'));
    return this;
  }

  address(): { address: string; port: number; family: string } | null {
    if (this.listener === null) return null;
    const a = this.listener.getsockname();
    return { address: String(a.addr), port: a.port, family: a.family === AF_INET6 ? 'IPv6' : 'IPv4' };
  }

  private async acceptLoop(ls: Socket): Promise<void> {
    while (!this.closed) {
      let s: Socket;
      try {
        s = await ls.accept();
      } catch (err) {
        if (!this.closed) this.emit('error', err);
        return;
      }
      const ns = new NetSocket(s);
      ns.attached();
      this.emit('connection', ns);
    }
  }

  close(cb?: () => void): void {
    this.closed = true;
    if (this.listener !== null) this.listener.close();
    this.listener = null;
    queueMicrotask(() => {
      this.emit('close');
      if (cb) cb();
    });
  }
}

export function createServer(env: StreamHost, onConnection?: (s: NetSocket) => void): NetServer {
  const srv = new NetServer(env);
  if (onConnection) srv.on('connection', onConnection);
  return srv;
}

/** `net.connect`: resolves the socket's 'connect' event asynchronously */
export function connect(env: StreamHost, opts: { host: string; port: number }): NetSocket {
  const s = env.socket(familyOf(opts.host), SOCK_STREAM);
  const ns = new NetSocket(s);
  s.connect(opts.host, opts.port).then(
    () => {
      ns.attached();
      ns.emit('connect');
    },
    (err: unknown) => ns.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return ns;
}
