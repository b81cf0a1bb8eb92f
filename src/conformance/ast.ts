/**
 * The parsed form of a packetdrill script: options, an optional init command, timed events
 * (packets, system calls, shell commands, Python snippets) and an optional cleanup command.
 * Times are integer microseconds. Produced by `parseScript`, consumed by the runner.
 */

/** when an event happens */
export interface TimeSpec {
  /** 'abs' seconds from the start, 'rel' after the previous event, 'any' (`*`, outbound only) */
  kind: 'abs' | 'rel' | 'any';
  us: number;
  /** a range `a~b` (outbound packets): the end, with its own kind */
  rangeEnd?: { kind: 'abs' | 'rel'; us: number };
  /** a blocking system call `a...b`: when it must return, from the same base as the start */
  blockEnd?: { kind: 'abs' | 'rel'; us: number };
}

/** an expression in system-call arguments */
export type Expr =
  | { t: 'int'; v: number }
  | { t: 'ellipsis' }
  | { t: 'null' }
  | { t: 'sym'; name: string }
  | { t: 'str'; v: string }
  | { t: 'or'; items: Expr[] }
  | { t: 'list'; items: Expr[] }
  | { t: 'struct'; fields: StructField[] }
  | { t: 'call'; fn: string; args: Expr[] };

/** `name=value`, `name(arg)=value`, or a bare value inside `{...}` */
export interface StructField {
  name: string | null;
  arg: Expr | null;
  value: Expr;
}

export type TcpOptSpec =
  | { kind: 'nop' | 'eol' | 'sackOK' }
  | { kind: 'mss' | 'wscale'; v: number }
  | { kind: 'sack'; blocks: [number, number][] }
  | { kind: 'ts'; val: number; ecr: number }
  | { kind: 'fo' | 'foexp'; cookie: string }
  | { kind: 'md5'; hex: string }
  | { kind: 'unknown'; text: string };

export interface IpInfo {
  ecn?: 'ect0' | 'ect1' | 'ce' | 'noecn' | 'ect01';
  tos?: number;
  ttl?: number;
  flowlabel?: number;
}

export interface TcpSegSpec {
  /** flag letters as written (`S.` → 'S.', `-` → '') */
  flags: string;
  start: number;
  end: number;
  len: number;
  /** `ack N` (undefined: not written) */
  ack?: number;
  win?: number;
  urg?: number;
  /** null: no option list (none expected); 'any': `<...>`; else the list */
  options: TcpOptSpec[] | null | 'any';
}

export interface IcmpSpec {
  type: string;
  code: string | null;
  mtu?: number;
  /** the quoted TCP segment `[start:end(len)]`: start is the quoted relative sequence */
  quotedSeq?: number;
  quotedLen?: number;
}

export interface PacketEvent {
  kind: 'packet';
  dir: '<' | '>';
  ip: IpInfo;
  tcp?: TcpSegSpec;
  icmp?: IcmpSpec;
  /** `udp`/`raw`/explicit headers: not supported (reason) */
  unsupported?: string;
}

export interface SyscallEvent {
  kind: 'syscall';
  name: string;
  args: Expr[];
  /** expected return value */
  result: Expr;
  errno: string | null;
}

export interface CommandEvent {
  kind: 'command';
  cmd: string;
}

export interface CodeEvent {
  kind: 'code';
  code: string;
}

export type EventBody = PacketEvent | SyscallEvent | CommandEvent | CodeEvent;

export interface ScriptEvent {
  line: number;
  time: TimeSpec;
  body: EventBody;
}

export interface Script {
  /** `--name[=value]` lines at the top, in order */
  options: Map<string, string>;
  init: { line: number; cmd: string } | null;
  events: ScriptEvent[];
  cleanup: { line: number; cmd: string } | null;
}
