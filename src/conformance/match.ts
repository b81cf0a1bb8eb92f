/**
 * Checks one live (possibly aggregated) TCP segment against an expected `>` line, the way
 * packetdrill's `verify_outbound_live_packet` does: IP information when written, every flag
 * bit, sequence number (relative to the stack's ISN, which an expected SYN defines), ACK
 * number (relative to the remote ISN; zero without the ACK flag), window when written, urgent
 * pointer, options in order (nop/eol by kind, TS by kind and length; TS val against the script
 * only with `tcp_ts_tick_usecs`), payload length and zero payload bytes. The first difference
 * is returned as "expected A, actual B"; null means a match.
 */
import type { IpInfo, TcpOptSpec, TcpSegSpec } from './ast.js';
import {
  FLAG_ACK, FLAG_SYN, describeOptions, flagBits, flagString, hexBytes, splitOptions, toHex, type LiveOpt,
  type LivePacket,
} from './packet.js';

/** what matching needs to know about the connection under test (updated by a match) */
export interface MatchConn {
  /** the stack's ISN, null until its SYN / SYN-ACK is seen */
  localIsn: number | null;
  /** the remote (script) ISN */
  remoteIsn: number;
  /** script TS val → live TS val of outbound segments */
  tsVals: Map<number, number>;
  /** `--tcp_ts_tick_usecs` (0: TS val not checked) and the first live/script TS pair seen */
  tsTickUs: number;
  tsBase: { live: number; script: number; t: number } | null;
}

const rel = (v: number, base: number): number => (v - base) >>> 0;

/** compares; on success records the ISN (SYN) and TS values. `tolUs` bounds the TS val check. */
export function matchTcp(exp: TcpSegSpec, ip: IpInfo, live: LivePacket, c: MatchConn, tolUs: number): string | null {
  const ipErr = matchIp(ip, live);
  if (ipErr !== null) return ipErr;
  const want = flagBits(exp.flags);
  if (want === null) return `unsupported flags '${exp.flags}'`;
  if (live.flags !== want) return `flags: expected ${flagString(want)}, actual ${flagString(live.flags)}`;
  // sequence number
  let isn = c.localIsn;
  if (want & FLAG_SYN) isn = (live.seq - exp.start) >>> 0;
  else if (isn === null) return `sequence: no SYN from the stack seen yet, actual seq ${live.seq}`;
  const seqRel = rel(live.seq, isn);
  if (seqRel !== exp.start) return `seq: expected ${exp.start}, actual ${seqRel}`;
  if (want & FLAG_ACK) {
    const a = rel(live.ack, c.remoteIsn);
    if (a !== (exp.ack ?? 0)) return `ack: expected ${exp.ack ?? 0}, actual ${a}`;
  } else if (live.ack !== 0) {
    return `ack field: expected 0 (no ACK flag), actual ${live.ack}`;
  }
  if (exp.win !== undefined && live.win !== exp.win) return `win: expected ${exp.win}, actual ${live.win}`;
  if (live.urg !== (exp.urg ?? 0)) return `urg: expected ${exp.urg ?? 0}, actual ${live.urg}`;
  const optErr = matchOptions(exp.options, live, c, isn, tolUs);
  if (optErr !== null) return optErr;
  if (live.payload.length !== exp.len) return `payload: expected ${exp.len} bytes, actual ${live.payload.length} bytes`;
  for (let i = 0; i < live.payload.length; i++) {
    if (live.payload[i] !== 0) return `payload byte ${i}: expected 0, actual ${live.payload[i]}`;
  }
  // a match: learn what the line defines
  if (want & FLAG_SYN) c.localIsn = isn;
  recordTs(exp.options, live, c);
  return null;
}

function matchIp(ip: IpInfo, live: LivePacket): string | null {
  const ecn = live.tos & 3;
  if (ip.ecn !== undefined) {
    const ok =
      ip.ecn === 'noecn' ? ecn === 0 : ip.ecn === 'ect1' ? ecn === 1 : ip.ecn === 'ect0' ? ecn === 2 : ip.ecn === 'ce' ? ecn === 3 : ecn === 1 || ecn === 2;
    if (!ok) return `IP ECN field: expected ${ip.ecn}, actual ${['noecn', 'ect1', 'ect0', 'ce'][ecn]}`;
  }
  if (ip.tos !== undefined && live.tos !== ip.tos) return `IP TOS: expected 0x${ip.tos.toString(16)}, actual 0x${live.tos.toString(16)}`;
  if (ip.ttl !== undefined && live.ttl !== ip.ttl) return `IP TTL: expected ${ip.ttl}, actual ${live.ttl}`;
  if (ip.flowlabel !== undefined && live.flowlabel !== ip.flowlabel) return `flow label: expected 0x${ip.flowlabel.toString(16)}, actual 0x${live.flowlabel.toString(16)}`;
  if (live.family === 4 && !live.ipv4CsumOk) return 'IPv4 header checksum is wrong';
  return null;
}

function optText(o: TcpOptSpec): string {
  switch (o.kind) {
    case 'nop':
    case 'eol':
    case 'sackOK':
      return o.kind;
    case 'mss':
    case 'wscale':
      return `${o.kind} ${o.v}`;
    case 'sack':
      return `sack ${o.blocks.map(([a, b]) => `${a}:${b}`).join(' ')}`;
    case 'ts':
      return `TS val ${o.val} ecr ${o.ecr}`;
    case 'fo':
      return o.cookie === '' ? 'FO' : `FO ${o.cookie}`;
    case 'foexp':
      return `FOEXP ${o.cookie}`;
    case 'md5':
      return `md5 ${o.hex}`;
    default:
      return o.text;
  }
}

function matchOptions(exp: TcpSegSpec['options'], live: LivePacket, c: MatchConn, _isn: number, tolUs: number): string | null {
  if (exp === 'any') return null;
  const lo = splitOptions(live.options);
  const remote = (v: number): number => rel(v, c.remoteIsn);
    // TS val is compared only on a script clock (--tcp_ts_tick_usecs): otherwise show no number
  const tsVal = (v: number): string => (c.tsTickUs > 0 && c.tsBase !== null ? String((c.tsBase.script + ((v - c.tsBase.live) >>> 0)) >>> 0) : 'N');
  const liveText = lo === null ? `malformed <${toHex(live.options)}>` : describeOptions(lo, remote, tsVal);
  const expText = exp === null ? 'no options' : `<${exp.map(optText).join(',')}>`;
  const mismatch = `options: expected ${expText}, actual ${live.options.length === 0 ? 'no options' : liveText}`;
  if (exp === null) return live.options.length === 0 ? null : mismatch;
  if (lo === null || lo.length !== exp.length) return mismatch;
  for (let i = 0; i < exp.length; i++) {
    const e = exp[i]!;
    const l = lo[i]!;
    if (!optEqual(e, l, c, remote, live.t, tolUs)) {
      if (e.kind === 'ts' && l.kind === 8 && l.data.length === 8 && c.tsBase !== null) {
        const val = new DataView(l.data.buffer, l.data.byteOffset, 8).getUint32(0);
        const scaled = (c.tsBase.script + ((val - c.tsBase.live) >>> 0)) >>> 0;
        return `TS val: expected ${e.val}, actual ${scaled} (live ${val} on the script's scale; ${c.tsTickUs} µs ticks, ±${Math.ceil(tolUs / c.tsTickUs) + 1})`;
      }
      return mismatch;
    }
  }
  return null;
}

function optEqual(e: TcpOptSpec, l: LiveOpt, c: MatchConn, remote: (v: number) => number, t: number, tolUs: number): boolean {
  const dv = new DataView(l.data.buffer, l.data.byteOffset, l.data.byteLength);
  switch (e.kind) {
    case 'nop':
      return l.kind === 1;
    case 'eol':
      return l.kind === 0;
    case 'sackOK':
      return l.kind === 4 && l.data.length === 0;
    case 'mss':
      return l.kind === 2 && l.data.length === 2 && dv.getUint16(0) === e.v;
    case 'wscale':
      return l.kind === 3 && l.data.length === 1 && l.data[0] === e.v;
    case 'sack': {
      if (l.kind !== 5 || l.data.length !== 8 * e.blocks.length) return false;
      for (let i = 0; i < e.blocks.length; i++) {
        if (remote(dv.getUint32(8 * i)) !== e.blocks[i]![0] || remote(dv.getUint32(8 * i + 4)) !== e.blocks[i]![1]) return false;
      }
      return true;
    }
    case 'ts': {
      if (l.kind !== 8 || l.data.length !== 8) return false;
      if (c.tsTickUs > 0) {
        const val = dv.getUint32(0);
        const b = c.tsBase;
        if (b !== null) {
          const liveTicks = (val - b.live) >>> 0;
          const scriptTicks = (e.val - b.script) >>> 0;
          const slack = Math.ceil(tolUs / c.tsTickUs) + 1;
          const d = liveTicks - scriptTicks;
          if (d > slack || d < -slack) return false;
        }
      }
      return true;
    }
    case 'fo': {
      if (l.kind !== 34) return false;
      const ck = hexBytes(e.cookie);
      return l.data.length === ck.length && ck.every((x, i) => l.data[i] === x);
    }
    case 'foexp': {
      if (l.kind !== 254 || l.data.length < 2 || l.data[0] !== 0xf9 || l.data[1] !== 0x89) return false;
      const ck = hexBytes(e.cookie);
      return l.data.length - 2 === ck.length && ck.every((x, i) => l.data[i + 2] === x);
    }
    case 'md5':
      return l.kind === 19;
    default:
      void t;
      return false;
  }
}

function recordTs(exp: TcpSegSpec['options'], live: LivePacket, c: MatchConn): void {
  if (exp === null || exp === 'any') return;
  const lo = splitOptions(live.options);
  if (lo === null) return;
  let k = 0;
  for (const e of exp) {
    const l = lo[k++];
    if (e.kind !== 'ts' || l === undefined || l.kind !== 8 || l.data.length !== 8) continue;
    const val = new DataView(l.data.buffer, l.data.byteOffset, 8).getUint32(0);
    c.tsVals.set(e.val, val);
    if (c.tsBase === null) c.tsBase = { live: val, script: e.val, t: live.t };
  }
}
