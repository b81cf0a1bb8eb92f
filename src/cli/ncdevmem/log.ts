/**
 * Where `devmem ncdevmem` writes: diagnostics to stderr line by line (as ncdevmem's fprintf
 * calls do), data and "Validated buffer" lines to stdout. Output is buffered and flushed in
 * large writes (a devmem run prints a line per frag), and at every wait when `live`;
 * `flush()` must run before the command returns. Tests pass their own sink to capture both streams.
 */

export interface NcdevmemSink {
  stdout(text: string): void;
  stderr(text: string): void;
  /** the client's input (what it would read from stdin line by line); none: empty */
  stdin?(): Promise<Uint8Array>;
}

/** all of the process's stdin (empty when it is a terminal: nothing was piped in) */
async function readStdin(): Promise<Uint8Array> {
  if (process.stdin.isTTY) return new Uint8Array(0);
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : (c as Buffer));
  return Buffer.concat(parts);
}

export const processSink: NcdevmemSink = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  stdin: readStdin,
};

const FLUSH_AT = 64 * 1024;

export class Log {
  private errBuf: string[] = [];
  private errLen = 0;
  private outBuf: string[] = [];
  private outLen = 0;

  /** drop what the tool writes on stdout (--json owns stdout) */
  quietStdout = false;
  /** flush at every wait (a real link: the user watches the run as it happens) */
  live = false;

  constructor(private readonly sink: NcdevmemSink) {}

  /** one diagnostic line on stderr */
  err(line: string): void {
    this.errBuf.push(line, '\n');
    this.errLen += line.length + 1;
    if (this.errLen >= FLUSH_AT) this.flush();
  }

  /** ncdevmem's pr_err: "ncdevmem: " + message */
  prErr(msg: string): void {
    this.err(`ncdevmem: ${msg}`);
  }

  /** raw text on stdout */
  out(text: string): void {
    if (this.quietStdout) return;
    this.outBuf.push(text);
    this.outLen += text.length;
    if (this.outLen >= FLUSH_AT) this.flush();
  }

  /** the run is about to wait: show what it printed so far when live */
  beforeWait(): void {
    if (this.live) this.flush();
  }

  flush(): void {
    if (this.errLen > 0) {
      this.sink.stderr(this.errBuf.join(''));
      this.errBuf = [];
      this.errLen = 0;
    }
    if (this.outLen > 0) {
      this.sink.stdout(this.outBuf.join(''));
      this.outBuf = [];
      this.outLen = 0;
    }
  }
}

/** strerror-like text for an errno name, as perror prints it */
const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted', ENOENT: 'No such file or directory', EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable', ENOMEM: 'Cannot allocate memory', EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy', EEXIST: 'File exists', ENODEV: 'No such device', EINVAL: 'Invalid argument',
  ERANGE: 'Numerical result out of range', ENODATA: 'No data available', EOPNOTSUPP: 'Operation not supported',
  EADDRINUSE: 'Address already in use', EADDRNOTAVAIL: 'Cannot assign requested address', ECONNRESET: 'Connection reset by peer',
  ENOTCONN: 'Transport endpoint is not connected', ETIMEDOUT: 'Connection timed out', ECONNREFUSED: 'Connection refused',
  ENOSPC: 'No space left on device', E2BIG: 'Argument list too long', ENETDOWN: 'Network is down',
  EHOSTUNREACH: 'No route to host', ENETUNREACH: 'Network is unreachable', ETOOSMALL: 'Unknown error 525',
};

export function strerror(code: string): string {
  return STRERROR[code] ?? code;
}

/** what ynl leaves in `ys->err.msg` for a failed request: the extack message, else strerror */
export function ynlError(code: string, extackMsg: string | undefined): string {
  return extackMsg !== undefined && extackMsg !== '' ? `Kernel error: '${extackMsg}'` : `Kernel error: ${strerror(code)}`;
}
