/**
 * CUBIC with HyStart, a port of Linux net/ipv4/tcp_cubic.c (bictcp, RFC 9438) in its own code.
 *
 * Contract:
 *  - `CubicOps` is one socket's CUBIC (Linux keeps `struct bictcp` in icsk_ca_priv); all the
 *    fixed-point arithmetic is Linux's, bit for bit: times in jiffies (ms, HZ = 1000) and the
 *    cubic clock in 1/1024 s (BICTCP_HZ), beta 717/1024, C = bic_scale 41 / 1024 · 10
 *    (cube_rtt_scale 410, cube_factor 2^40 / 410), u32 wrap-around where Linux has it, the u64
 *    product of `cube_rtt_scale · offs³` taken modulo 2^64 as C does;
 *  - the core calls the hooks as types.ts says: `pktsAcked` before `congAvoid` on an ACK,
 *    `cwndEvent(TxStart)` when data is sent with nothing in flight (before it updates
 *    `lsndtimeMs`), `setState(Loss)` on an RTO;
 *  - `CubicParams` are Linux's module parameters (`/sys/module/tcp_cubic/parameters/*`),
 *    shared by every socket made from one factory;
 *  - per ACK nothing is allocated; only an epoch start with a window gap above ~3.3 million
 *    segments (never in practice) takes a BigInt path for the cube root.
 */
import type { AckSample, CongSock, CongestionOps } from './types.js';
import { CaEvent, CaState } from './types.js';
import { tcpCongAvoidAi, tcpInSlowStart, tcpRenoUndoCwnd, tcpSlowStart } from './reno.js';

/** BICTCP_BETA_SCALE */
export const BICTCP_BETA_SCALE = 1024;
/** BICTCP_HZ: the cubic clock ticks 2^10 times a second */
export const BICTCP_HZ = 10;
/** HZ of tcp_jiffies32 here (ms) */
const HZ = 1000;
export const HYSTART_ACK_TRAIN = 0x1;
export const HYSTART_DELAY = 0x2;
/** delay samples per round before the delay test (HYSTART_MIN_SAMPLES) */
export const HYSTART_MIN_SAMPLES = 8;
/** delay threshold bounds, µs (HYSTART_DELAY_MIN / MAX) */
export const HYSTART_DELAY_MIN = 4000;
export const HYSTART_DELAY_MAX = 16000;
/** GSO_LEGACY_MAX_SIZE: the gso_max_size assumed when the core gives none */
const DEFAULT_GSO_MAX_SIZE = 65536;

/** Linux tcp_cubic module parameters (defaults as Linux 6.18) */
export interface CubicParams {
  fastConvergence: boolean;
  /** multiplicative decrease, /1024 */
  beta: number;
  /** ssthresh set at init when HyStart is off (0: leave it) */
  initialSsthresh: number;
  /** C scaled by 1024 (read-only in Linux: cube factors are computed from it) */
  bicScale: number;
  tcpFriendliness: boolean;
  hystart: boolean;
  /** HYSTART_ACK_TRAIN | HYSTART_DELAY */
  hystartDetect: number;
  /** HyStart only acts once cwnd reaches this many segments */
  hystartLowWindow: number;
  /** ACK spacing that still counts as a train, µs */
  hystartAckDeltaUs: number;
}

export const CUBIC_DEFAULTS: Readonly<CubicParams> = Object.freeze({
  fastConvergence: true,
  beta: 717,
  initialSsthresh: 0,
  bicScale: 41,
  tcpFriendliness: true,
  hystart: true,
  hystartDetect: HYSTART_ACK_TRAIN | HYSTART_DELAY,
  hystartLowWindow: 16,
  hystartAckDeltaUs: 2000,
});

/** Linux usecs_to_jiffies at HZ = 1000: rounds up */
export function usecsToJiffies(us: number): number {
  return Math.floor((us + 999) / 1000);
}

/** Linux after(a, b) on u32 */
function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/** fls64: index (1-based) of the highest set bit, 0 for 0; `a` a non-negative integer < 2^53 */
function fls64(a: number): number {
  if (a < 0x100000000) return 32 - Math.clz32(a);
  return 64 - Math.clz32(Math.floor(a / 0x100000000));
}

/**
 * cbrt(x) MSB table of Linux cubic_root (x in [0..63]: v = cbrt(x << 18) - 1, refined by hand;
 * a table of facts, not code).
 */
const CBRT_V = new Uint8Array([
  0, 54, 54, 54, 118, 118, 118, 118,
  123, 129, 134, 138, 143, 147, 151, 156,
  157, 161, 164, 168, 170, 173, 176, 179,
  181, 185, 187, 190, 192, 194, 197, 199,
  200, 202, 204, 206, 209, 211, 213, 215,
  217, 219, 221, 222, 224, 225, 227, 229,
  231, 232, 234, 236, 237, 239, 240, 242,
  244, 245, 246, 248, 250, 251, 252, 254,
]);

/**
 * Linux cubic_root: cube root of the u64 `a` by table lookup and one Newton-Raphson step
 * (average error ~0.2%), exactly as the kernel rounds. `a` is a non-negative integer; values
 * above 2^53 take an exact BigInt path.
 */
export function cubicRoot(a: number | bigint): number {
  if (typeof a === 'bigint' || a > Number.MAX_SAFE_INTEGER) return cubicRootBig(BigInt(a));
  let b = fls64(a);
  if (b < 7) return (CBRT_V[a]! + 35) >>> 6;
  b = ((b * 84) >>> 8) - 1;
  const shift = Math.floor(a / 2 ** (b * 3));
  let x = (((CBRT_V[shift]! + 10) << b) >>> 0) >>> 6;
  x = (2 * x + (Math.floor(a / (x * (x - 1))) >>> 0)) >>> 0;
  return (Math.imul(x, 341) >>> 0) >>> 10;
}

function cubicRootBig(a: bigint): number {
  a = BigInt.asUintN(64, a);
  let b = a.toString(2).length;
  if (a === 0n) b = 0;
  if (b < 7) return (CBRT_V[Number(a)]! + 35) >>> 6;
  b = ((b * 84) >>> 8) - 1;
  const shift = Number(a >> BigInt(b * 3)) >>> 0;
  let x = (((CBRT_V[shift]! + 10) << b) >>> 0) >>> 6;
  x = (2 * x + (Number(BigInt.asUintN(32, a / (BigInt(x) * BigInt(x - 1)))))) >>> 0;
  return (Math.imul(x, 341) >>> 0) >>> 10;
}

/* scratch limbs (16 bits each, little-endian) for the u64 product of bictcp_update */
const LA = new Float64Array(4);
const LB = new Float64Array(4);

/** LA = LA · LB mod 2^64 */
function mul64(): void {
  const a0 = LA[0]!, a1 = LA[1]!, a2 = LA[2]!, a3 = LA[3]!;
  const b0 = LB[0]!, b1 = LB[1]!, b2 = LB[2]!, b3 = LB[3]!;
  const r0 = a0 * b0;
  const r1 = a0 * b1 + a1 * b0;
  const r2 = a0 * b2 + a1 * b1 + a2 * b0;
  const r3 = a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0;
  let c = r0;
  LA[0] = c % 65536; c = Math.floor(c / 65536) + r1;
  LA[1] = c % 65536; c = Math.floor(c / 65536) + r2;
  LA[2] = c % 65536; c = Math.floor(c / 65536) + r3;
  LA[3] = c % 65536;
}

function loadLimbs(dst: Float64Array, v: number): void {
  dst[0] = v % 65536; v = Math.floor(v / 65536);
  dst[1] = v % 65536; v = Math.floor(v / 65536);
  dst[2] = v % 65536; v = Math.floor(v / 65536);
  dst[3] = v % 65536;
}

/**
 * `(u32)((scale · offs · offs · offs) >> 40)` with the product in u64 as C computes it
 * (modulo 2^64): bits 40..63 of the product. `offs` a non-negative integer < 2^53.
 */
export function cubicDelta(scale: number, offs: number): number {
  loadLimbs(LA, scale);
  loadLimbs(LB, offs);
  mul64();
  mul64();
  mul64();
  return (Math.floor(LA[2]! / 256) + LA[3]! * 256) >>> 0;
}

/** one socket's CUBIC state and hooks (Linux struct bictcp + cubictcp ops) */
export class CubicOps implements CongestionOps {
  readonly name = 'cubic';
  /** increase cwnd by 1 after this many ACKed segments */
  cnt = 0;
  /** last maximum cwnd (W_max) */
  lastMaxCwnd = 0;
  /** cwnd at the last bictcp_update, and its time (jiffies) */
  lastCwnd = 0;
  lastTime = 0;
  /** origin point of the cubic function, segments */
  bicOriginPoint = 0;
  /** time to the origin point from the epoch start, 1/1024 s */
  bicK = 0;
  /** minimum delay, µs (0: none yet) */
  delayMin = 0;
  /** start of the current epoch, jiffies (0: none) */
  epochStart = 0;
  /** ACKed segments counted for the Reno-friendly estimate */
  ackCnt = 0;
  /** estimated Reno cwnd */
  tcpCwnd = 0;
  /* HyStart */
  sampleCnt = 0;
  found = false;
  /** beginning of the round, µs (u32) */
  roundStart = 0;
  /** snd_nxt when the round began */
  endSeq = 0;
  /** last time the ACK spacing was close, µs (u32) */
  lastAck = 0;
  /** minimum RTT of the current round, µs (0xffffffff: none) */
  currRtt = 0;

  private readonly p: Readonly<CubicParams>;
  /** Linux beta_scale: 8·(1024 + beta) / 3 / (1024 − beta), integer steps */
  readonly betaScale: number;
  /** Linux cube_rtt_scale: bic_scale · 10 */
  readonly cubeRttScale: number;
  /** Linux cube_factor: 2^(10 + 3·BICTCP_HZ) / (bic_scale · 10) */
  readonly cubeFactor: number;

  constructor(params: Readonly<CubicParams> = CUBIC_DEFAULTS) {
    this.p = params;
    this.betaScale = Math.floor(Math.floor((8 * (BICTCP_BETA_SCALE + params.beta)) / 3) / (BICTCP_BETA_SCALE - params.beta));
    this.cubeRttScale = params.bicScale * 10;
    this.cubeFactor = Math.floor(2 ** (10 + 3 * BICTCP_HZ) / (params.bicScale * 10));
  }

  /** Linux bictcp_reset: everything up to `unused`, and `found` */
  private reset(): void {
    this.cnt = 0;
    this.lastMaxCwnd = 0;
    this.lastCwnd = 0;
    this.lastTime = 0;
    this.bicOriginPoint = 0;
    this.bicK = 0;
    this.delayMin = 0;
    this.epochStart = 0;
    this.ackCnt = 0;
    this.tcpCwnd = 0;
    this.found = false;
  }

  /** Linux bictcp_hystart_reset: a new HyStart round starts now, ending at snd_nxt */
  hystartReset(tp: CongSock): void {
    this.roundStart = this.lastAck = tp.nowUs >>> 0;
    this.endSeq = tp.sndNxt;
    this.currRtt = 0xffffffff;
    this.sampleCnt = 0;
  }

  init(tp: CongSock): void {
    this.reset();
    if (this.p.hystart) this.hystartReset(tp);
    if (!this.p.hystart && this.p.initialSsthresh) tp.sndSsthresh = this.p.initialSsthresh;
  }

  cwndEvent(tp: CongSock, ev: CaEvent): void {
    if (ev !== CaEvent.TxStart) return;
    const now = tp.nowMs >>> 0;
    const delta = (now - tp.lsndtimeMs) | 0;
    // idle (application-limited) for a while: shift the epoch to stay on the cubic curve
    if (this.epochStart !== 0 && delta > 0) {
      this.epochStart = (this.epochStart + delta) >>> 0;
      if (after(this.epochStart, now)) this.epochStart = now;
    }
  }

  /** Linux bictcp_update: recomputes `cnt` for the current cwnd (at most once per jiffy) */
  update(tp: CongSock, cwnd: number, acked: number): void {
    const now = tp.nowMs >>> 0;
    this.ackCnt = (this.ackCnt + acked) >>> 0;
    if (this.lastCwnd === cwnd && ((now - this.lastTime) | 0) <= Math.floor(HZ / 32)) return;
    // cnt is recomputed at most once per jiffy; a reduction clears epochStart to force it
    if (!(this.epochStart !== 0 && now === this.lastTime)) {
      this.lastCwnd = cwnd;
      this.lastTime = now;
      if (this.epochStart === 0) {
        this.epochStart = now;
        this.ackCnt = acked;
        this.tcpCwnd = cwnd;
        if (this.lastMaxCwnd <= cwnd) {
          this.bicK = 0;
          this.bicOriginPoint = cwnd;
        } else {
          // K = cbrt((W_max − cwnd) · rtt / C) in 1/1024 s (u64 product, exact)
          const gap = (this.lastMaxCwnd - cwnd) >>> 0;
          const a = this.cubeFactor * gap;
          this.bicK = a <= Number.MAX_SAFE_INTEGER ? cubicRoot(a)
            : cubicRoot(BigInt.asUintN(64, BigInt(this.cubeFactor) * BigInt(gap)));
          this.bicOriginPoint = this.lastMaxCwnd;
        }
      }
      // t: time since the epoch plus the minimum delay, in 1/1024 s (an epoch is never in the
      // future: TxStart clamps it to now)
      const elapsed = Math.max((now - this.epochStart) | 0, 0);
      const t = Math.floor(((elapsed + usecsToJiffies(this.delayMin)) * 1024) / HZ);
      const offs = t < this.bicK ? this.bicK - t : t - this.bicK;
      const delta = cubicDelta(this.cubeRttScale, offs);
      const target = t < this.bicK ? (this.bicOriginPoint - delta) >>> 0 : (this.bicOriginPoint + delta) >>> 0;
      if (target > cwnd) this.cnt = Math.floor(cwnd / (target - cwnd));
      else this.cnt = Math.imul(100, cwnd) >>> 0;
      // the cubic function's start may be too slow while the bandwidth is unknown: 5% per RTT
      if (this.lastMaxCwnd === 0 && this.cnt > 20) this.cnt = 20;
    }
    if (this.p.tcpFriendliness) {
      const delta = Math.imul(cwnd, this.betaScale) >>> 3;
      if (delta > 0 && this.ackCnt > delta) {
        const n = Math.floor((this.ackCnt - 1) / delta);
        this.ackCnt -= n * delta;
        this.tcpCwnd = (this.tcpCwnd + n) >>> 0;
      }
      if (this.tcpCwnd > cwnd) {
        const maxCnt = Math.floor(cwnd / (this.tcpCwnd - cwnd));
        if (this.cnt > maxCnt) this.cnt = maxCnt;
      }
    }
    // at most 1 segment of growth per 2 ACKed: 1.5x per RTT
    if (this.cnt < 2) this.cnt = 2;
  }

  congAvoid(tp: CongSock, _ack: number, acked: number): void {
    if (!tp.isCwndLimited) return;
    if (tcpInSlowStart(tp)) {
      acked = tcpSlowStart(tp, acked);
      if (acked === 0) return;
    }
    this.update(tp, tp.sndCwnd, acked);
    tcpCongAvoidAi(tp, this.cnt, acked);
  }

  ssthresh(tp: CongSock): number {
    const cwnd = tp.sndCwnd;
    this.epochStart = 0;
    if (cwnd < this.lastMaxCwnd && this.p.fastConvergence) {
      this.lastMaxCwnd = Math.floor((Math.imul(cwnd, BICTCP_BETA_SCALE + this.p.beta) >>> 0) / (2 * BICTCP_BETA_SCALE));
    } else {
      this.lastMaxCwnd = cwnd;
    }
    return Math.max(Math.floor((Math.imul(cwnd, this.p.beta) >>> 0) / BICTCP_BETA_SCALE), 2);
  }

  setState(tp: CongSock, state: CaState): void {
    if (state === CaState.Loss) {
      this.reset();
      this.hystartReset(tp);
    }
  }

  undoCwnd(tp: CongSock): number {
    return tcpRenoUndoCwnd(tp);
  }

  /** Linux hystart_ack_delay: TSO/GRO cushion from the pacing rate, at most 1 ms */
  private ackDelay(tp: CongSock): number {
    const rate = tp.pacingRate ?? 0;
    if (!rate) return 0;
    const gso = tp.gsoMaxSize ?? DEFAULT_GSO_MAX_SIZE;
    return Math.min(1000, Math.floor((gso * 4 * 1_000_000) / rate));
  }

  /** Linux hystart_update: ACK-train and delay-increase detection of the slow-start exit */
  private hystartUpdate(tp: CongSock, delay: number): void {
    if (after(tp.sndUna, this.endSeq)) this.hystartReset(tp);
    if (tp.sndCwnd < this.p.hystartLowWindow) return;
    if (this.p.hystartDetect & HYSTART_ACK_TRAIN) {
      const now = tp.nowUs >>> 0;
      if (((now - this.lastAck) | 0) <= this.p.hystartAckDeltaUs) {
        this.lastAck = now;
        let threshold = (this.delayMin + this.ackDelay(tp)) >>> 0;
        // pacing may have spread the train over up to RTT/2 during slow start
        if (!tp.pacingEnabled) threshold >>>= 1;
        if (((now - this.roundStart) >>> 0) > threshold) {
          this.found = true;
          tp.sndSsthresh = tp.sndCwnd;
        }
      }
    }
    if (this.p.hystartDetect & HYSTART_DELAY) {
      if (this.currRtt > delay) this.currRtt = delay;
      if (this.sampleCnt < HYSTART_MIN_SAMPLES) {
        this.sampleCnt++;
      } else {
        const thresh = Math.min(Math.max(this.delayMin >>> 3, HYSTART_DELAY_MIN), HYSTART_DELAY_MAX);
        if (this.currRtt > this.delayMin + thresh) {
          this.found = true;
          tp.sndSsthresh = tp.sndCwnd;
        }
      }
    }
  }

  pktsAcked(tp: CongSock, sample: AckSample): void {
    if (sample.rttUs < 0) return;
    // discard delay samples right after a reduction
    if (this.epochStart !== 0 && (((tp.nowMs >>> 0) - this.epochStart) | 0) < HZ) return;
    let delay = sample.rttUs >>> 0;
    if (delay === 0) delay = 1;
    if (this.delayMin === 0 || this.delayMin > delay) this.delayMin = delay;
    if (!this.found && tcpInSlowStart(tp) && this.p.hystart) this.hystartUpdate(tp, delay);
  }
}

/** a factory for CUBIC sockets sharing `params` (the module parameters) */
export function cubicFactory(params: Readonly<CubicParams> = CUBIC_DEFAULTS): () => CongestionOps {
  return () => new CubicOps(params);
}

/** factory registered as 'cubic' with Linux's defaults */
export function createCubic(): CongestionOps {
  return new CubicOps(CUBIC_DEFAULTS);
}
