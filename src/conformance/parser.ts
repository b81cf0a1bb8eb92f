/**
 * The packetdrill script parser (the subset of upstream's grammar the TCP scripts use):
 * `--option` lines, an init command, events `TIME ACTION` and a cleanup command. Actions are
 * TCP packet lines (`< S 0:0(0) win 32792 <mss 1000,sackOK,nop,wscale 7>`), ICMP lines, system
 * calls with their expected result and errno, shell commands and `%{ python }%` snippets.
 * `-D`/`--define` symbols are substituted for words before parsing. Errors are `ParseError`s
 * carrying the script line.
 */
import type {
  EventBody, Expr, IcmpSpec, IpInfo, PacketEvent, Script, ScriptEvent, StructField, TcpOptSpec, TcpSegSpec, TimeSpec,
} from './ast.js';
import { LexError, lex, type Token } from './lexer.js';

export class ParseError extends Error {
  constructor(readonly line: number, msg: string) {
    super(`line ${line}: ${msg}`);
  }
}

const FLAG_CHARS = /^[SFRPEWAUC0-7.-]+$/;

/**
 * Parses a script. `defines` maps symbols to replacement text (an integer, a "string" or a word),
 * as packetdrill's `-D SYM=value`.
 */
export function parseScript(text: string, defines: ReadonlyMap<string, string> = new Map()): Script {
  const lines = text.split('\n');
  const options = new Map<string, string>();
  // option lines: before anything else but comments and blank lines
  let inBlock = false;
  let bodyStart = lines.length;
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (inBlock) {
      const e = l.indexOf('*/');
      if (e < 0) continue;
      inBlock = false;
      l = l.slice(e + 2);
    }
    l = l.replace(/\/\/.*$/, '').trim();
    if (l.startsWith('/*')) {
      if (!l.includes('*/')) inBlock = true;
      continue;
    }
    if (l === '') continue;
    const m = /^--([A-Za-z0-9_-]+)(?:=(.*))?$/.exec(l);
    if (m === null) {
      bodyStart = i;
      break;
    }
    options.set(m[1]!, (m[2] ?? '').trim());
    lines[i] = '';
  }
  if (bodyStart === lines.length) bodyStart = 0;
  let toks: Token[];
  try {
    toks = lex(lines.join('\n'));
  } catch (e) {
    if (e instanceof LexError) throw new ParseError(e.line, e.message);
    throw e;
  }
  if (defines.size > 0) toks = toks.map((t) => substitute(t, defines));
  return new Parser(toks, options).script();
}

function substitute(t: Token, defines: ReadonlyMap<string, string>): Token {
  if (t.kind !== 'word') return t;
  const v = defines.get(t.text);
  if (v === undefined) return t;
  if (/^-?[0-9]+$/.test(v)) return { ...t, kind: 'num', text: v, value: Number(v) };
  if (/^0x[0-9a-f]+$/i.test(v)) return { ...t, kind: 'num', text: v, value: parseInt(v.slice(2), 16) };
  if (/^".*"$/.test(v)) return { ...t, kind: 'str', text: v.slice(1, -1) };
  return { ...t, text: v };
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[], private readonly options: Map<string, string>) {}

  private get tok(): Token {
    return this.toks[this.i]!;
  }
  private peek(k = 1): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.tok;
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private fail(msg: string, t: Token = this.tok): never {
    throw new ParseError(t.line, `${msg} (at ${t.kind === 'eof' ? 'end of script' : JSON.stringify(t.text)})`);
  }
  private isP(c: string, t: Token = this.tok): boolean {
    return t.kind === 'punct' && t.text === c;
  }
  private isW(w: string, t: Token = this.tok): boolean {
    return t.kind === 'word' && t.text === w;
  }
  private eatP(c: string): void {
    if (!this.isP(c)) this.fail(`expected '${c}'`);
    this.next();
  }
  private num(what: string): number {
    let neg = false;
    if (this.isP('-')) {
      this.next();
      neg = true;
    }
    const t = this.tok;
    if (t.kind !== 'num') this.fail(`expected ${what}`);
    this.next();
    return neg ? -t.value : t.value;
  }
  private int(what: string): number {
    const t = this.tok;
    const v = this.num(what);
    if (!Number.isInteger(v)) this.fail(`expected an integer ${what}`, t);
    return v;
  }

  script(): Script {
    const s: Script = { options: this.options, init: null, events: [], cleanup: null };
    if (this.tok.kind === 'cmd') {
      const t = this.next();
      s.init = { line: t.line, cmd: t.text };
    }
    while (this.tok.kind !== 'eof') {
      if (this.tok.kind === 'cmd') {
        const t = this.next();
        if ((this.tok.kind as string) !== 'eof') this.fail('a command without a time stamp must be the init or the last (cleanup) command', t);
        s.cleanup = { line: t.line, cmd: t.text };
        break;
      }
      s.events.push(this.event());
    }
    return s;
  }

  // ---- times ----

  private timePoint(): { kind: 'abs' | 'rel'; us: number } {
    let kind: 'abs' | 'rel' = 'abs';
    if (this.isP('+')) {
      this.next();
      kind = 'rel';
    }
    const t = this.tok;
    if (t.kind !== 'num') this.fail('expected a time');
    this.next();
    if (t.value < 0) this.fail('negative time', t);
    return { kind, us: Math.round(t.value * 1e6) };
  }

  private time(): TimeSpec {
    if (this.isP('*')) {
      this.next();
      return { kind: 'any', us: 0 };
    }
    const p = this.timePoint();
    const ts: TimeSpec = { kind: p.kind, us: p.us };
    if (this.isP('~')) {
      this.next();
      ts.rangeEnd = this.timePoint();
    } else if (this.tok.kind === 'ellipsis') {
      this.next();
      ts.blockEnd = this.timePoint();
    }
    return ts;
  }

  // ---- events ----

  private event(): ScriptEvent {
    const line = this.tok.line;
    if (!(this.tok.kind === 'num' || this.isP('+') || this.isP('*'))) this.fail('expected an event time');
    const time = this.time();
    const t = this.tok;
    let body: EventBody;
    if (this.isP('<') || this.isP('>')) body = this.packet();
    else if (t.kind === 'cmd') {
      this.next();
      body = { kind: 'command', cmd: t.text };
    } else if (t.kind === 'code') {
      this.next();
      body = { kind: 'code', code: t.text };
    } else if (t.kind === 'word' && this.isP('(', this.peek())) body = this.syscall();
    else this.fail('expected a packet, a system call, a command or a code block');
    if (time.kind === 'any' && !(body.kind === 'packet' && body.dir === '>')) this.fail('`*` time is only for outbound packets', t);
    if (time.rangeEnd !== undefined && !(body.kind === 'packet' && body.dir === '>')) this.fail('time ranges are only for outbound packets', t);
    if (time.blockEnd !== undefined && body.kind !== 'syscall') this.fail('`...` end times are only for system calls', t);
    return { line, time, body };
  }

  // ---- packets ----

  private packet(): PacketEvent {
    const dir = this.next().text as '<' | '>';
    const ev: PacketEvent = { kind: 'packet', dir, ip: {} };
    if (this.isP('[') || (this.isP('(') && this.tok.sp === true && this.isIpInfoWord(this.peek()))) ev.ip = this.ipInfo();
    if (this.isW('icmp')) {
      this.next();
      ev.icmp = this.icmp();
      return ev;
    }
    if (this.isW('udp') || this.isW('raw') || this.isW('ipv4') || this.isW('ipv6') || this.isW('gre') || this.isW('mpls') || this.isW('encap')) {
      ev.unsupported = `${this.tok.text} packet lines`;
      this.skipLine();
      return ev;
    }
    // optional literal ports `sport>dport`
    if (this.tok.kind === 'num' && this.isP('>', this.peek())) {
      ev.unsupported = 'literal port numbers on packet lines';
      this.skipLine();
      return ev;
    }
    ev.tcp = this.tcpSeg(dir);
    return ev;
  }

  private isIpInfoWord(t: Token): boolean {
    return t.kind === 'word' && ['ect0', 'ect1', 'ect01', 'ce', 'noecn', 'tos', 'ttl', 'flowlabel'].includes(t.text);
  }

  private ipInfo(): IpInfo {
    const close = this.isP('[') ? ']' : ')';
    this.next();
    const ip: IpInfo = {};
    while (!this.isP(close)) {
      const t = this.next();
      if (t.kind === 'eof') this.fail(`expected '${close}'`, t);
      if (t.kind === 'punct' && t.text === ',') continue;
      if (t.kind !== 'word') this.fail('bad IP information', t);
      switch (t.text) {
        case 'ect0':
        case 'ect1':
        case 'ect01':
        case 'ce':
        case 'noecn':
          ip.ecn = t.text;
          break;
        case 'tos':
          ip.tos = this.int('a TOS value');
          break;
        case 'ttl':
          ip.ttl = this.int('a TTL');
          break;
        case 'flowlabel':
          ip.flowlabel = this.int('a flow label');
          break;
        default:
          this.fail('unknown IP information', t);
      }
    }
    this.next();
    return ip;
  }

  /** skips to the start of the next event (a time at the start of a later line) */
  private skipLine(): void {
    const line = this.tok.line;
    while (this.tok.kind !== 'eof' && !(this.tok.line > line && (this.tok.kind === 'num' || this.isP('+') || this.isP('*')))) this.next();
  }

  private tcpSeg(dir: '<' | '>'): TcpSegSpec {
    // flags: a word and dots/dashes with no space between
    let flags = '';
    const first = this.tok;
    if (!(first.kind === 'word' || this.isP('.') || this.isP('-') || first.kind === 'num')) this.fail('expected TCP flags');
    flags += this.next().text;
    while (!this.tok.sp && (this.tok.kind === 'word' || this.isP('.') || this.isP('-') || this.tok.kind === 'num')) flags += this.next().text;
    if (!FLAG_CHARS.test(flags)) this.fail(`bad TCP flags '${flags}'`, first);
    if (flags === '-') flags = '';
    const start = this.int('a start sequence number');
    this.eatP(':');
    const end = this.int('an end sequence number');
    this.eatP('(');
    const len = this.int('a payload length');
    this.eatP(')');
    if (end !== start + len && !(start >= 2 ** 31 && ((start + len) >>> 0) === end)) this.fail(`inconsistent sequence range ${start}:${end}(${len})`, first);
    const seg: TcpSegSpec = { flags, start: start >>> 0, end: end >>> 0, len, options: null };
    for (;;) {
      if (this.isW('ack')) {
        this.next();
        seg.ack = this.int('an ACK number') >>> 0;
      } else if (this.isW('win')) {
        this.next();
        seg.win = this.int('a window');
      } else if (this.isW('urg')) {
        this.next();
        seg.urg = this.int('an urgent pointer');
      } else break;
    }
    if (dir === '<' && seg.win === undefined) this.fail('inbound packets need a window (win N)');
    if (this.isP('<')) seg.options = this.tcpOptions();
    return seg;
  }

  private tcpOptions(): TcpOptSpec[] | 'any' {
    this.eatP('<');
    if (this.tok.kind === 'ellipsis') {
      this.next();
      this.eatP('>');
      return 'any';
    }
    const opts: TcpOptSpec[] = [];
    for (;;) {
      opts.push(this.tcpOption());
      if (this.isP(',')) {
        this.next();
        continue;
      }
      this.eatP('>');
      return opts;
    }
  }

  private tcpOption(): TcpOptSpec {
    const t = this.tok;
    if (t.kind !== 'word') this.fail('expected a TCP option');
    this.next();
    switch (t.text) {
      case 'nop':
      case 'eol':
      case 'sackOK':
        return { kind: t.text };
      case 'mss':
        return { kind: 'mss', v: this.int('an MSS') };
      case 'wscale':
        return { kind: 'wscale', v: this.int('a window scale') };
      case 'sack': {
        const blocks: [number, number][] = [];
        while (this.tok.kind === 'num') {
          const a = this.int('a SACK block start');
          this.eatP(':');
          const b = this.int('a SACK block end');
          blocks.push([a >>> 0, b >>> 0]);
        }
        return { kind: 'sack', blocks };
      }
      case 'TS': {
        if (!this.isW('val')) this.fail("expected 'val'");
        this.next();
        const val = this.int('a TS value') >>> 0;
        if (!this.isW('ecr')) this.fail("expected 'ecr'");
        this.next();
        const ecr = this.int('a TS echo reply') >>> 0;
        return { kind: 'ts', val, ecr };
      }
      case 'FO':
      case 'FOEXP': {
        let cookie = '';
        const c = this.tok;
        if (!this.isP(',') && !this.isP('>')) {
          this.next();
          cookie = c.text;
          if (!/^([0-9a-fA-F]{2})*$/.test(cookie)) this.fail('bad Fast Open cookie', c);
        }
        return { kind: t.text === 'FO' ? 'fo' : 'foexp', cookie: cookie.toLowerCase() };
      }
      case 'md5': {
        const c = this.next();
        return { kind: 'md5', hex: c.text };
      }
      default: {
        let text = t.text;
        while (!this.isP(',') && !this.isP('>') && this.tok.kind !== 'eof') text += ' ' + this.next().text;
        return { kind: 'unknown', text };
      }
    }
  }

  private icmp(): IcmpSpec {
    const ty = this.tok;
    if (ty.kind !== 'word') this.fail('expected an ICMP type');
    this.next();
    const spec: IcmpSpec = { type: ty.text, code: null };
    if (this.tok.kind === 'word' && !['mtu', 'id', 'udp', 'raw'].includes(this.tok.text) && this.tok.line === ty.line) spec.code = this.next().text;
    for (;;) {
      if (this.isW('mtu')) {
        this.next();
        spec.mtu = this.int('an MTU');
      } else if (this.isW('id')) {
        this.next();
        this.int('an id');
      } else if (this.isP('[')) {
        this.next();
        const a = this.int('a quoted sequence number');
        this.eatP(':');
        this.int('a quoted end');
        this.eatP('(');
        spec.quotedLen = this.int('a quoted length');
        this.eatP(')');
        this.eatP(']');
        spec.quotedSeq = a >>> 0;
      } else break;
    }
    return spec;
  }

  // ---- system calls ----

  private syscall(): EventBody {
    const name = this.next().text;
    this.eatP('(');
    const args: Expr[] = [];
    if (!this.isP(')')) {
      for (;;) {
        args.push(this.expr());
        if (this.isP(',')) {
          this.next();
          continue;
        }
        break;
      }
    }
    this.eatP(')');
    this.eatP('=');
    const result = this.expr();
    let errno: string | null = null;
    if (this.tok.kind === 'word' && /^E[A-Z0-9]+$/.test(this.tok.text)) errno = this.next().text;
    if (this.isP('(') && this.tok.line === this.toks[this.i - 1]!.line) {
      // the free-text note: (Operation now in progress)
      let depth = 0;
      do {
        const t = this.next();
        if (t.kind === 'eof') this.fail('unterminated note', t);
        if (t.kind === 'punct' && t.text === '(') depth++;
        else if (t.kind === 'punct' && t.text === ')') depth--;
      } while (depth > 0);
    }
    return { kind: 'syscall', name, args, result, errno };
  }

  private expr(): Expr {
    const first = this.term();
    if (!this.isP('|')) return first;
    const items = [first];
    while (this.isP('|')) {
      this.next();
      items.push(this.term());
    }
    return { t: 'or', items };
  }

  private term(): Expr {
    const t = this.tok;
    if (t.kind === 'ellipsis') {
      this.next();
      return { t: 'ellipsis' };
    }
    if (t.kind === 'num' || this.isP('-')) {
      const v = this.num('a number');
      return { t: 'int', v };
    }
    if (t.kind === 'str') {
      this.next();
      return { t: 'str', v: t.text };
    }
    if (this.isP('[')) {
      this.next();
      const items: Expr[] = [];
      while (!this.isP(']')) {
        items.push(this.expr());
        if (this.isP(',')) this.next();
        else if (!this.isP(']')) this.fail("expected ',' or ']'");
      }
      this.next();
      return { t: 'list', items };
    }
    if (this.isP('{')) {
      this.next();
      const fields: StructField[] = [];
      while (!this.isP('}')) {
        fields.push(this.field());
        if (this.isP(',')) this.next();
        else if (!this.isP('}')) this.fail("expected ',' or '}'");
      }
      this.next();
      return { t: 'struct', fields };
    }
    if (t.kind === 'word') {
      this.next();
      if (t.text === 'NULL') return { t: 'null' };
      if (this.isP('(')) {
        this.next();
        const args: Expr[] = [];
        while (!this.isP(')')) {
          args.push(this.expr());
          if (this.isP(',')) this.next();
          else if (!this.isP(')')) this.fail("expected ',' or ')'");
        }
        this.next();
        return { t: 'call', fn: t.text, args };
      }
      return { t: 'sym', name: t.text };
    }
    return this.fail('expected an expression');
  }

  private field(): StructField {
    const t = this.tok;
    if (t.kind === 'word' && (this.isP('=', this.peek()) || this.isP('(', this.peek()))) {
      // name=value or name(arg)=value (but not a call such as htons(8080) as a bare value)
      if (this.isP('(', this.peek())) {
        const save = this.i;
        this.next();
        this.next();
        const arg = this.isP(')') ? null : this.expr();
        if (this.isP(')') && this.isP('=', this.peek())) {
          this.next();
          this.next();
          return { name: t.text, arg, value: this.expr() };
        }
        this.i = save;
        return { name: null, arg: null, value: this.expr() };
      }
      this.next();
      this.next();
      return { name: t.text, arg: null, value: this.expr() };
    }
    return { name: null, arg: null, value: this.expr() };
  }
}
