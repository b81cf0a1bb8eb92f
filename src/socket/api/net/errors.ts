/**
 * The errors Node's `net` module raises, for `host.net`: system errors are `ErrnoError`s (the
 * project's positive `.errno`, `.code`, `.syscall`) carrying Node's message text and, where Node
 * sets them, `.address` / `.port` / `.localAddress` / `.localPort`; argument and state errors are
 * TypeError / RangeError / Error with Node's `ERR_*` `.code` and message. Also Node's argument
 * validators (`validatePort`, timer durations).
 */
import { ERRNO, ErrnoError, errnoName } from '../../../uapi/index.js';

/** a Node internal error: `code` set, the message as Node words it */
export function nodeError<E extends Error>(ctor: new (m: string) => E, code: string, message: string): E {
  const e = new ctor(message);
  Object.defineProperty(e, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return e;
}

/** libuv's strerror for the codes `listen` reports (UVExceptionWithHostPort) */
const UV_MESSAGES: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available',
  EACCES: 'permission denied',
  EINVAL: 'invalid argument',
  EAFNOSUPPORT: 'address family not supported',
  EMFILE: 'too many open files',
  ENETDOWN: 'network is down',
};

function hostPort(address: string | undefined, port: number | undefined): string {
  if (address === undefined || address === '') return '';
  return port !== undefined && port > 0 ? ` ${address}:${port}` : ` ${address}`;
}

function withHostPort(e: ErrnoError, address: string | undefined, port: number | undefined): ErrnoError {
  if (address !== undefined) Object.assign(e, { address });
  if (port !== undefined && port > 0) Object.assign(e, { port });
  return e;
}

/** Node's ErrnoException: `${syscall} ${code}` */
export function errnoException(errno: number, syscall: string): ErrnoError {
  const e = new ErrnoError(errno, syscall);
  e.message = `${syscall} ${errnoName(errno)}`;
  return e;
}

/**
 * Node's ExceptionWithHostPort: `${syscall} ${code} ${address}:${port}` and, with `localAddress`
 * and `localPort`, ` - Local (${local})`.
 */
export function exceptionWithHostPort(
  errno: number, syscall: string, address?: string, port?: number, localAddress?: string, localPort?: number,
): ErrnoError {
  const e = withHostPort(new ErrnoError(errno, syscall), address, port);
  let msg = `${syscall} ${errnoName(errno)}${hostPort(address, port)}`;
  if (localAddress !== undefined && localAddress !== '' && localPort !== undefined && localPort > 0) {
    msg += ` - Local (${localAddress}:${localPort})`;
    Object.assign(e, { localAddress, localPort });
  }
  e.message = msg;
  return e;
}

/** Node's UVExceptionWithHostPort (listen): `${syscall} ${code}: ${uv message} ${address}:${port}` */
export function uvExceptionWithHostPort(errno: number, syscall: string, address: string, port: number): ErrnoError {
  const e = withHostPort(new ErrnoError(errno, syscall), address, port);
  const code = errnoName(errno);
  const uv = UV_MESSAGES[code] ?? code.toLowerCase();
  e.message = `${syscall} ${code}: ${uv}${address !== '' ? ` ${address}:${port}` : ''}`;
  return e;
}

/** what dns.lookup reports for a name it cannot resolve (there is no resolver here) */
export function lookupError(hostname: string): ErrnoError {
  const e = new ErrnoError(ERRNO.ENOENT, 'getaddrinfo');
  e.message = `getaddrinfo ENOTFOUND ${hostname}`;
  Object.assign(e, { code: 'ENOTFOUND', hostname });
  return e;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return `type number (${v})`;
  if (typeof v === 'string') return `type string ('${v}')`;
  if (typeof v === 'boolean') return `type boolean (${String(v)})`;
  if (typeof v === 'function') return `function ${(v as { name?: string }).name ?? ''}`;
  if (typeof v === 'object') return 'an instance of ' + ((v as object).constructor?.name ?? 'Object');
  return `type ${typeof v}`;
}

/** Node's validatePort (ERR_SOCKET_BAD_PORT); `name` is the argument's name in the message */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if ((typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== (+port >>> 0) || +port > 0xffff || (+port === 0 && !allowZero)) {
    throw nodeError(RangeError, 'ERR_SOCKET_BAD_PORT',
      `${name} should be ${allowZero ? '>=' : '>'} 0 and < 65536. Received ${describeValue(port)}.`);
  }
  return +port | 0;
}

/** Node's getTimerDuration: a finite number ≥ 0 (ms), at most 2^31 - 1 */
export function validateTimeout(msecs: unknown, name: string): number {
  if (typeof msecs !== 'number') {
    throw nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type number. Received ${describeValue(msecs)}`);
  }
  if (!(msecs >= 0) || !Number.isFinite(msecs)) {
    throw nodeError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be a non-negative finite number. Received ${String(msecs)}`);
  }
  return Math.min(msecs, 2 ** 31 - 1);
}

export function invalidArgType(name: string, what: string, v: unknown): TypeError {
  return nodeError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${what}. Received ${describeValue(v)}`);
}
