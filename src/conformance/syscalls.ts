/**
 * System-call lines → calls on the host's syscall layer (`host.sys`: fd-numbered, −errno
 * results). `prepareCall` evaluates the arguments (`...` as packetdrill fills it in: the
 * socket family of the mode, the local address and port for `bind`, the remote one for
 * `connect`/`sendto`, zero bytes for buffers) and returns an `attempt` the runner calls until
 * it stops answering `PENDING` (a blocking call that must wait) plus a `check` of the
 * out-parameters (`[N]` values, `msg_flags`, cmsgs, `revents`, epoll events). Calls outside the
 * supported set throw `ScriptSkip` with the reason.
 */
import { InetAddr } from '../inet/index.js';
import { MsgHdr, SockOptVal, type EpollEvent, type PollFd, type SockAddr, type Syscalls } from '../socket/sys/index.js';
import {
  AF_INET, AF_INET6, AF_UNSPEC, ERRNO, IP_RECVERR, IPV6_RECVERR, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_ZEROCOPY, O_NONBLOCK, SCM_TIMESTAMPING,
  SOCK_NONBLOCK, SOL_IP, SOL_IPV6, SOL_SOCKET, SO_LINGER,
} from '../uapi/index.js';
import { decodeScmTimestamping, decodeSockExtendedErr } from '../socket/sys/errqueue.js';
import type { Expr, StructField, SyscallEvent } from './ast.js';
import { ScriptSkip } from './errors.js';
import { cConstant } from './symbols.js';

export const PENDING = -0x7fff_ffff;

export interface SysCtx {
  readonly sys: Syscalls;
  /** AF_INET or AF_INET6 (`...` in socket()) */
  readonly sockFamily: number;
  readonly localAddr: InetAddr;
  readonly remoteAddr: InetAddr;
  readonly bindPort: number;
  readonly connectPort: number;
  now(): number;
  /** how far a timestamp in a cmsg may be from the script's (--tolerance_usecs) */
  readonly tstampTolUs: number;
  /** the live fd for a script fd */
  fd(scriptFd: number): number;
  /** a call that returns a descriptor: the script number now names `realFd` */
  alias(scriptFd: number, realFd: number): void;
  /** the socket under test changed (accept, connect) */
  setSut(fd: number): void;
  /**
   * packetdrill's socket-under-test states: a new socket (`socket`), it listens (`listen`: the
   * next inbound SYN makes a new connection), it connects (`connect`: the stack's next SYN does)
   */
  sutState(s: 'socket' | 'listen' | 'connect'): void;
  /** scratch files made by the script's shell commands: open → a descriptor above VFD_BASE */
  openFile(path: string): number;
  /** the size of the open scratch file at `fd`, or -1 */
  fileSize(fd: number): number;
  closeFile(fd: number): boolean;
}

/** descriptors of scratch files live above the host's fd range */
export const VFD_BASE = 1_000_000;

export interface Call {
  attempt(): number;
  /** the call may wait (blocking fd, no MSG_DONTWAIT) */
  blocking: boolean;
  /** result is a new descriptor ("any valid fd" for a non-negative expected value) */
  newFd: boolean;
  /** out-parameter checks after a successful return: an error text or null */
  check?(r: number): string | null;
}

class ArgError extends Error {}

function field(s: Expr, name: string): StructField | undefined {
  return s.t === 'struct' ? s.fields.find((f) => f.name === name) : undefined;
}

/** an integer argument: numbers, C constants, `A|B` */
export function intArg(e: Expr): number {
  switch (e.t) {
    case 'int':
      return e.v;
    case 'null':
      return 0;
    case 'sym': {
      const v = cConstant(e.name);
      if (v === undefined) throw new ArgError(`unknown symbol ${e.name}`);
      return v;
    }
    case 'or':
      return e.items.reduce((a, x) => a | intArg(x), 0);
    case 'list':
      if (e.items.length === 1) return intArg(e.items[0]!);
      break;
    case 'call':
      if (e.fn === 'htons' && e.args.length === 1) return intArg(e.args[0]!);
      break;
  }
  throw new ArgError(`expected an integer argument, got ${describe(e)}`);
}

function describe(e: Expr): string {
  switch (e.t) {
    case 'int':
      return String(e.v);
    case 'sym':
      return e.name;
    case 'str':
      return JSON.stringify(e.v);
    case 'ellipsis':
      return '...';
    case 'null':
      return 'NULL';
    case 'list':
      return `[${e.items.map(describe).join(', ')}]`;
    case 'struct':
      return `{${e.fields.map((f) => (f.name === null ? describe(f.value) : `${f.name}=${describe(f.value)}`)).join(', ')}}`;
    case 'or':
      return e.items.map(describe).join('|');
    case 'call':
      return `${e.fn}(${e.args.map(describe).join(', ')})`;
  }
}

/** the length of a buffer argument given as `...` with a separate length */
function bufArg(e: Expr, what: string): void {
  if (e.t === 'null') throw new ScriptSkip(0, `${what} with a NULL buffer pointer (no user pointers in the syscall layer)`);
  if (e.t !== 'ellipsis' && e.t !== 'str') throw new ArgError(`unsupported buffer argument ${describe(e)}`);
}

function sockaddrArg(e: Expr, ctx: SysCtx, local: boolean): SockAddr {
  if (e.t === 'ellipsis') {
    const addr = local ? ctx.localAddr : ctx.remoteAddr;
    const port = local ? ctx.bindPort : ctx.connectPort;
    return ctx.sockFamily === AF_INET6 ? { family: AF_INET6, addr, port, flowinfo: 0, scopeId: 0 } : { family: AF_INET, addr, port };
  }
  if (e.t === 'struct') {
    const fam = field(e, 'sa_family') ?? field(e, 'sin_family') ?? field(e, 'sin6_family');
    const family = fam === undefined ? ctx.sockFamily : intArg(fam.value);
    const portF = field(e, 'sin_port') ?? field(e, 'sin6_port');
    const port = portF === undefined ? 0 : intArg(portF.value);
    const aF = field(e, 'sin_addr') ?? field(e, 'sin6_addr');
    let addr = ctx.remoteAddr;
    if (aF !== undefined) {
      const v = aF.value;
      if (v.t === 'call' && (v.fn === 'inet_addr' || v.fn === 'inet6_addr') && v.args[0]?.t === 'str') {
        const s = v.args[0].v;
        const parsed = parseAddr(s);
        if (parsed === null) throw new ArgError(`bad address ${s}`);
        addr = parsed;
      } else throw new ArgError(`unsupported address ${describe(v)}`);
    }
    return family === AF_INET6 ? { family, addr, port, flowinfo: 0, scopeId: 0 } : { family: family === AF_UNSPEC ? AF_UNSPEC : family, addr, port };
  }
  throw new ArgError(`unsupported socket address ${describe(e)}`);
}

function parseAddr(s: string): InetAddr | null {
  return InetAddr.tryParse(s);
}

/** total bytes of an iovec list `[{..., N}, ...]` */
function iovLen(e: Expr): number {
  if (e.t !== 'list') throw new ArgError(`unsupported iovec ${describe(e)}`);
  let n = 0;
  for (const it of e.items) {
    if (it.t !== 'struct') throw new ArgError(`unsupported iovec ${describe(it)}`);
    const last = it.fields[it.fields.length - 1];
    if (last === undefined) throw new ArgError('empty iovec');
    const first = it.fields[0]!;
    if (first.value.t === 'null') throw new ScriptSkip(0, 'iovec with a NULL base pointer');
    n += intArg(last.value);
  }
  return n;
}

/** the lengths of an iovec list's elements */
function iovLens(e: Expr): number[] {
  if (e.t !== 'list') return [];
  return e.items.map((it) => (it.t === 'struct' && it.fields.length > 0 ? intArg(it.fields[it.fields.length - 1]!.value) : 0));
}

function nonEmptyIovs(e: Expr): number {
  if (e.t !== 'list') return 0;
  return e.items.filter((it) => it.t === 'struct' && it.fields.length > 0 && intArg(it.fields[it.fields.length - 1]!.value) > 0).length;
}

function isNonblock(ctx: SysCtx, fd: number, flags: number): boolean {
  const f = ctx.sys.file(fd);
  return f === null || (f.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
}

/**
 * sendmsg/recvmsg on the socket file with a kept MsgHdr: −EAGAIN/−ENOBUFS while blocking →
 * PENDING. `vecLens`: send an iovec list of separate zeroed buffers of these lengths.
 */
function sendCall(ctx: SysCtx, fd: number, len: number, flags: number, to: SockAddr | null, vecLens: number[] | null = null): Call {
  const msg = new MsgHdr();
  const data = new Uint8Array(vecLens === null ? len : 0);
  const vecs = vecLens === null ? null : vecLens.map((n) => new Uint8Array(n));
  let started = false;
  const nb = isNonblock(ctx, fd, flags);
  return {
    blocking: !nb,
    newFd: false,
    attempt(): number {
      const s = ctx.sys.sock(fd);
      if (typeof s === 'number') return s;
      if (!started) {
        if (vecs === null) msg.setSend(data, 0, len, to);
        else msg.setSendIovecs(vecs, to);
        started = true;
      }
      const r = s.sendmsg(msg, flags, nb);
      if (!nb && (r === -ERRNO.EAGAIN || r === -ERRNO.ENOBUFS)) return PENDING;
      return r;
    },
  };
}

function recvCall(ctx: SysCtx, fd: number, len: number, flags: number, control: Uint8Array | null, check?: (m: MsgHdr, r: number) => string | null): Call {
  const msg = new MsgHdr();
  const buf = new Uint8Array(len);
  let started = false;
  // an error-queue read never blocks (EAGAIN when empty, on any socket)
  const nb = isNonblock(ctx, fd, flags) || (flags & MSG_ERRQUEUE) !== 0;
  return {
    blocking: !nb,
    newFd: false,
    attempt(): number {
      const s = ctx.sys.sock(fd);
      if (typeof s === 'number') return s;
      if (!started) {
        msg.setRecv(buf, control);
        started = true;
      }
      const r = s.recvmsg(msg, flags, nb);
      if (!nb && r === -ERRNO.EAGAIN) return PENDING;
      return r;
    },
    check: check === undefined ? undefined : (r) => check(msg, r),
  };
}

const once = (f: () => number, extra: Partial<Call> = {}): Call => ({ attempt: f, blocking: false, newFd: false, ...extra });

/** prepares the call of a system-call line; throws ScriptSkip for what is not supported */
export function prepareCall(ev: SyscallEvent, line: number, ctx: SysCtx): Call {
  try {
    return prepare(ev, ctx);
  } catch (e) {
    if (e instanceof ArgError) throw new ScriptSkip(line, `${ev.name}: ${e.message}`);
    if (e instanceof ScriptSkip && e.line === 0) throw new ScriptSkip(line, e.detail);
    throw e;
  }
}

function prepare(ev: SyscallEvent, ctx: SysCtx): Call {
  const a = ev.args;
  const sys = ctx.sys;
  const need = (n: number): void => {
    if (a.length < n) throw new ArgError(`expected ${n} arguments, got ${a.length}`);
  };
  const fdOf = (e: Expr): number => ctx.fd(intArg(e));
  switch (ev.name) {
    case 'socket': {
      need(3);
      const dom = a[0]!.t === 'ellipsis' ? ctx.sockFamily : intArg(a[0]!);
      const type = intArg(a[1]!);
      const proto = intArg(a[2]!);
      return once(() => {
        const r = sys.socket(dom, type, proto);
        if (r >= 0) {
          ctx.setSut(r);
          ctx.sutState('socket');
        }
        return r;
      }, { newFd: true });
    }
    case 'bind': {
      need(2);
      const fd = fdOf(a[0]!);
      const sa = sockaddrArg(a[1]!, ctx, true);
      return once(() => sys.bind(fd, sa));
    }
    case 'listen': {
      need(2);
      const fd = fdOf(a[0]!);
      const backlog = intArg(a[1]!);
      return once(() => {
        const r = sys.listen(fd, backlog);
        if (r === 0) ctx.sutState('listen');
        return r;
      });
    }
    case 'accept':
    case 'accept4': {
      need(1);
      const fd = fdOf(a[0]!);
      const flags = ev.name === 'accept4' && a.length >= 4 ? intArg(a[3]!) : 0;
      const nb = isNonblock(ctx, fd, 0);
      return {
        blocking: !nb,
        newFd: true,
        attempt(): number {
          const r = sys.accept4(fd, null, flags & SOCK_NONBLOCK);
          if (!nb && r === -ERRNO.EAGAIN) return PENDING;
          if (r >= 0) ctx.setSut(r);
          return r;
        },
      };
    }
    case 'connect': {
      need(2);
      const fd = fdOf(a[0]!);
      const sa = sockaddrArg(a[1]!, ctx, false);
      const nb = isNonblock(ctx, fd, 0);
      let started = false;
      return {
        blocking: !nb,
        newFd: false,
        attempt(): number {
          const s = sys.sock(fd);
          if (typeof s === 'number') return s;
          if (!started) {
            started = true;
            ctx.setSut(fd);
            ctx.sutState('connect');
            const r = sys.connect(fd, sa);
            if (nb || r !== -ERRNO.EINPROGRESS) return r;
          }
          const r = s.connectResult(-ERRNO.EINPROGRESS);
          return r === -ERRNO.EINPROGRESS ? PENDING : r;
        },
      };
    }
    case 'write':
    case 'send': {
      need(3);
      const fd = fdOf(a[0]!);
      bufArg(a[1]!, ev.name);
      const len = intArg(a[2]!);
      const flags = ev.name === 'send' && a.length > 3 ? intArg(a[3]!) : 0;
      return sendCall(ctx, fd, len, flags, null);
    }
    case 'sendto': {
      need(4);
      const fd = fdOf(a[0]!);
      bufArg(a[1]!, ev.name);
      const len = intArg(a[2]!);
      const flags = intArg(a[3]!);
      const to = a.length > 4 && a[4]!.t !== 'null' ? sockaddrArg(a[4]!, ctx, false) : null;
      const c = sendCall(ctx, fd, len, flags, to);
      if (to === null) return c;
      let first = true;
      return {
        ...c,
        attempt(): number {
          if (first) {
            first = false;
            const f = sys.file(fd);
            // a send with a destination on an unconnected stream socket starts a connection (Fast Open)
            if (f !== null && sys.getpeername(fd, { addr: null }) < 0) {
              ctx.setSut(fd);
              ctx.sutState('connect');
            }
          }
          return c.attempt();
        },
      };
    }
    case 'sendmsg': {
      need(3);
      const fd = fdOf(a[0]!);
      const m = a[1]!;
      if (m.t !== 'struct') throw new ArgError(`unsupported msghdr ${describe(m)}`);
      if (field(m, 'msg_control') !== undefined) throw new ScriptSkip(0, 'sendmsg with msg_control (cmsgs on send)');
      const iov = field(m, 'msg_iov');
      const len = iov === undefined ? 0 : iovLen(iov.value);
      const flags = intArg(a[2]!);
      const nameF = field(m, 'msg_name');
      const to = nameF !== undefined && nameF.value.t !== 'ellipsis' && nameF.value.t !== 'null' ? sockaddrArg(nameF.value, ctx, false) : null;
      // zerocopy pins each iovec as its own frags (packetdrill allocates every iov_base apart)
      if ((flags & MSG_ZEROCOPY) !== 0 && iov !== undefined && nonEmptyIovs(iov.value) > 1) return sendCall(ctx, fd, len, flags, to, iovLens(iov.value));
      return sendCall(ctx, fd, len, flags, to);
    }
    case 'read':
    case 'recv':
    case 'recvfrom': {
      need(3);
      const fd = fdOf(a[0]!);
      bufArg(a[1]!, ev.name);
      const len = intArg(a[2]!);
      const flags = ev.name !== 'read' && a.length > 3 ? intArg(a[3]!) : 0;
      return recvCall(ctx, fd, len, flags, null);
    }
    case 'recvmsg': {
      need(3);
      const fd = fdOf(a[0]!);
      const m = a[1]!;
      if (m.t !== 'struct') throw new ArgError(`unsupported msghdr ${describe(m)}`);
      const iov = field(m, 'msg_iov');
      const len = iov === undefined ? 0 : iovLen(iov.value);
      const flags = intArg(a[2]!);
      const ctlF = field(m, 'msg_control');
      const flagsF = field(m, 'msg_flags');
      const wantFlags = flagsF === undefined ? null : intArg(flagsF.value);
      const control = ctlF === undefined ? null : new Uint8Array(4096);
      const wantCmsgs = ctlF === undefined ? null : cmsgList(ctlF.value);
      return recvCall(ctx, fd, len, flags, control, (msg) => {
        if (wantFlags !== null && msg.msgFlags !== wantFlags) return `msg_flags: expected ${wantFlags}, actual ${msg.msgFlags}`;
        if (wantCmsgs !== null && control !== null) return checkCmsgs(wantCmsgs, control, msg.controlLen, ctx.tstampTolUs);
        return null;
      });
    }
    case 'close': {
      need(1);
      const fd = fdOf(a[0]!);
      return once(() => (fd >= VFD_BASE ? (ctx.closeFile(fd) ? 0 : -ERRNO.EBADF) : sys.close(fd)));
    }
    case 'open': {
      need(2);
      const p = a[0]!;
      if (p.t !== 'str') throw new ArgError(`unsupported path ${describe(p)}`);
      return once(() => ctx.openFile(p.v), { newFd: true });
    }
    case 'sendfile': {
      // sendfile from a scratch file of zero bytes: the socket gets those bytes as a send would
      need(4);
      const out = fdOf(a[0]!);
      const inFd = fdOf(a[1]!);
      const off = a[2]!.t === 'null' ? 0 : intArg(a[2]!);
      const count = intArg(a[3]!);
      const size = ctx.fileSize(inFd);
      if (size < 0) return once(() => -ERRNO.EBADF);
      return sendCall(ctx, out, Math.max(0, Math.min(count, size - off)), 0, null);
    }
    case 'shutdown': {
      need(2);
      const fd = fdOf(a[0]!);
      const how = intArg(a[1]!);
      return once(() => sys.shutdown(fd, how));
    }
    case 'fcntl': {
      need(2);
      const fd = fdOf(a[0]!);
      const cmd = intArg(a[1]!);
      const arg = a.length > 2 ? intArg(a[2]!) : 0;
      return once(() => sys.fcntl(fd, cmd, arg));
    }
    case 'ioctl': {
      need(2);
      const fd = fdOf(a[0]!);
      const cmd = intArg(a[1]!);
      const want = a.length > 2 && a[2]!.t === 'list' ? intArg(a[2]!) : null;
      let got = 0;
      return once(
        () => {
          const r = sys.ioctl(fd, cmd);
          if (r < 0) return r;
          got = r;
          return 0;
        },
        { check: () => (want !== null && got !== want ? `ioctl value: expected ${want}, actual ${got}` : null) },
      );
    }
    case 'setsockopt': {
      need(4);
      const fd = fdOf(a[0]!);
      const level = intArg(a[1]!);
      const name = intArg(a[2]!);
      const v = a[3]!;
      let val: number | Uint8Array;
      if (v.t === 'list' || v.t === 'int' || v.t === 'sym' || v.t === 'or') val = intArg(v);
      else if (v.t === 'str') val = new TextEncoder().encode(v.v);
      else if (v.t === 'struct' && level === SOL_SOCKET && name === SO_LINGER) {
        const b = new Uint8Array(8);
        const dv = new DataView(b.buffer);
        dv.setInt32(0, intArg(field(v, 'onoff')?.value ?? { t: 'int', v: 0 }), true);
        dv.setInt32(4, intArg(field(v, 'linger')?.value ?? { t: 'int', v: 0 }), true);
        val = b;
      } else throw new ArgError(`unsupported option value ${describe(v)}`);
      return once(() => sys.setsockopt(fd, level, name, val));
    }
    case 'getsockopt': {
      need(4);
      const fd = fdOf(a[0]!);
      const level = intArg(a[1]!);
      const name = intArg(a[2]!);
      const v = a[3]!;
      if (v.t !== 'list') throw new ArgError(`unsupported getsockopt value ${describe(v)}`);
      const want = intArg(v);
      const out = new SockOptVal();
      return once(() => sys.getsockopt(fd, level, name, out), {
        check: () => (out.value !== want ? `getsockopt value: expected ${want}, actual ${out.value}` : null),
      });
    }
    case 'epoll_create':
    case 'epoll_create1':
      return once(() => sys.epollCreate1(0), { newFd: true });
    case 'epoll_ctl': {
      need(3);
      const ep = fdOf(a[0]!);
      const op = intArg(a[1]!);
      const fd = fdOf(a[2]!);
      const evs = a[3];
      const events = evs === undefined || evs.t !== 'struct' ? 0 : intArg(field(evs, 'events')?.value ?? { t: 'int', v: 0 });
      const dataF = evs === undefined ? undefined : (field(evs, 'fd') ?? field(evs, 'u32') ?? field(evs, 'u64') ?? field(evs, 'ptr'));
      const data = dataF === undefined ? fd : intArg(dataF.value);
      return once(() => sys.epollCtl(ep, op, fd, events, data));
    }
    case 'epoll_wait': {
      need(4);
      const ep = fdOf(a[0]!);
      const evs = a[1]!;
      const max = intArg(a[2]!);
      const timeoutMs = intArg(a[3]!);
      const out: EpollEvent[] = [];
      const wantEvents = evs.t === 'struct' ? intArg(field(evs, 'events')?.value ?? { t: 'int', v: 0 }) : null;
      const wantFd = evs.t === 'struct' ? field(evs, 'fd') : undefined;
      return waitCall(ctx, timeoutMs, () => {
        out.length = 0;
        return sys.epollWait(ep, out, max);
      }, (r) => {
        if (r <= 0 || wantEvents === null) return null;
        const e = out[0]!;
        if (e.events !== wantEvents) return `epoll events: expected 0x${wantEvents.toString(16)}, actual 0x${e.events.toString(16)}`;
        if (wantFd !== undefined && typeof e.data === 'number' && e.data !== intArg(wantFd.value)) return `epoll data fd: expected ${intArg(wantFd.value)}, actual ${e.data}`;
        return null;
      });
    }
    case 'poll': {
      need(3);
      const list = a[0]!;
      if (list.t !== 'list') throw new ArgError(`unsupported pollfd array ${describe(list)}`);
      const fds: PollFd[] = [];
      const want: (number | null)[] = [];
      for (const it of list.items) {
        if (it.t !== 'struct') throw new ArgError('unsupported pollfd');
        fds.push({ fd: ctx.fd(intArg(field(it, 'fd')?.value ?? { t: 'int', v: -1 })), events: intArg(field(it, 'events')?.value ?? { t: 'int', v: 0 }), revents: 0 });
        const rv = field(it, 'revents');
        want.push(rv === undefined ? null : intArg(rv.value));
      }
      const timeoutMs = intArg(a[2]!);
      return waitCall(ctx, timeoutMs, () => sys.poll(fds), () => {
        for (let i = 0; i < fds.length; i++) {
          const w = want[i];
          if (w !== null && w !== undefined && fds[i]!.revents !== w) return `poll revents: expected 0x${w.toString(16)}, actual 0x${fds[i]!.revents.toString(16)}`;
        }
        return null;
      });
    }
    default:
      throw new ScriptSkip(0, `system call ${ev.name}() is not supported by the interpreter`);
  }
}

/** poll/epoll_wait with a timeout in ms (0: at once, negative: forever) */
function waitCall(ctx: SysCtx, timeoutMs: number, f: () => number, check: (r: number) => string | null): Call {
  let deadline = -2;
  return {
    blocking: timeoutMs !== 0,
    newFd: false,
    attempt(): number {
      if (deadline === -2) deadline = timeoutMs < 0 ? -1 : ctx.now() + timeoutMs * 1000;
      const r = f();
      if (r !== 0 || timeoutMs === 0) return r;
      if (deadline >= 0 && ctx.now() >= deadline) return 0;
      return PENDING;
    },
    check,
  };
}

interface WantCmsg {
  level: number;
  type: number;
  /** an int payload */
  data: number | null;
  /** a structured payload: `struct sock_extended_err` fields (ee_*) or `scm_timestamping` (scm_sec/scm_nsec) */
  fields: Map<string, number> | null;
}

/** the fields packetdrill knows in structured cmsg data */
const SOCK_EE_FIELDS = ['ee_errno', 'ee_origin', 'ee_type', 'ee_code', 'ee_info', 'ee_data'];
const SCM_TS_FIELDS = ['scm_sec', 'scm_nsec'];

function cmsgList(e: Expr): WantCmsg[] {
  if (e.t !== 'list') throw new ArgError(`unsupported msg_control ${describe(e)}`);
  return e.items.map((it) => {
    if (it.t !== 'struct') throw new ArgError('unsupported cmsg');
    const lv = field(it, 'cmsg_level');
    const ty = field(it, 'cmsg_type');
    const d = field(it, 'cmsg_data');
    if (lv === undefined || ty === undefined) throw new ArgError('cmsg without level/type');
    const level = intArg(lv.value);
    const type = intArg(ty.value);
    if (d !== undefined && d.value.t === 'struct') {
      const fields = new Map<string, number>();
      const known = isRecverr(level, type) ? SOCK_EE_FIELDS : level === SOL_SOCKET && type === SCM_TIMESTAMPING ? SCM_TS_FIELDS : null;
      if (known === null) throw new ArgError(`unsupported structured cmsg data for level ${level} type ${type}`);
      for (const f of d.value.fields) {
        if (f.name === null || !known.includes(f.name)) throw new ArgError(`unsupported cmsg_data field ${f.name ?? '?'}`);
        fields.set(f.name, intArg(f.value));
      }
      return { level, type, data: null, fields };
    }
    return { level, type, data: d === undefined ? null : intArg(d.value), fields: null };
  });
}

function isRecverr(level: number, type: number): boolean {
  return (level === SOL_IP && type === IP_RECVERR) || (level === SOL_IPV6 && type === IPV6_RECVERR);
}

interface GotCmsg {
  level: number;
  type: number;
  data: number | null;
  bytes: Uint8Array;
}

/** compares cmsgs; timestamps match within `tolUs` of the script time (packetdrill's tolerance) */
function checkCmsgs(want: WantCmsg[], control: Uint8Array, len: number, tolUs: number): string | null {
  const dv = new DataView(control.buffer, control.byteOffset, control.byteLength);
  const got: GotCmsg[] = [];
  let off = 0;
  while (off + 16 <= len) {
    const clen = Number(dv.getBigUint64(off, true));
    if (clen < 16 || off + clen > len) break;
    const data = clen >= 20 ? dv.getInt32(off + 16, true) : null;
    got.push({ level: dv.getInt32(off + 8, true), type: dv.getInt32(off + 12, true), data, bytes: control.subarray(off + 16, off + clen) });
    off += (clen + 7) & ~7;
  }
  const fmtW = (x: WantCmsg): string => x.fields !== null ? `{${[...x.fields].map(([k, v]) => `${k}=${v}`).join(',')}}` : String(x.data);
  const fmtG = (x: GotCmsg): string => {
    if (isRecverr(x.level, x.type)) {
      const ee = decodeSockExtendedErr(x.bytes);
      if (ee !== null) return `{ee_errno=${ee.eeErrno},ee_origin=${ee.origin},ee_type=${ee.type},ee_code=${ee.code},ee_info=${ee.info},ee_data=${ee.data}}`;
    }
    if (x.level === SOL_SOCKET && x.type === SCM_TIMESTAMPING) {
      const ts = decodeScmTimestamping(x.bytes);
      if (ts !== null) return `{scm_sec=${ts[0]!.sec},scm_nsec=${ts[0]!.nsec}}`;
    }
    return String(x.data);
  };
  const all = `expected [${want.map((x) => `{level ${x.level}, type ${x.type}, data ${fmtW(x)}}`).join(', ')}], actual [${got.map((x) => `{level ${x.level}, type ${x.type}, data ${fmtG(x)}}`).join(', ')}]`;
  if (got.length !== want.length) return `cmsgs: ${all}`;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.level !== g.level || w.type !== g.type) return `cmsgs: ${all}`;
    if (w.fields === null) {
      if (w.data !== null && w.data !== g.data) return `cmsgs: ${all}`;
      continue;
    }
    if (isRecverr(w.level, w.type)) {
      const ee = decodeSockExtendedErr(g.bytes);
      if (ee === null) return `cmsgs: ${all}`;
      const actual: Record<string, number> = { ee_errno: ee.eeErrno, ee_origin: ee.origin, ee_type: ee.type, ee_code: ee.code, ee_info: ee.info, ee_data: ee.data };
      for (const [k, v] of w.fields) if (actual[k] !== v >>> 0 && actual[k] !== v) return `cmsgs: ${k}: ${all}`;
    } else {
      const ts = decodeScmTimestamping(g.bytes);
      if (ts === null) return `cmsgs: ${all}`;
      const wantUs = (w.fields.get('scm_sec') ?? 0) * 1e6 + (w.fields.get('scm_nsec') ?? 0) / 1000;
      const gotUs = ts[0]!.sec * 1e6 + ts[0]!.nsec / 1000;
      if (Math.abs(gotUs - wantUs) > tolUs) return `cmsgs: timestamp off by more than ${tolUs} us: ${all}`;
    }
  }
  return null;
}

