/**
 * Fixtures for zero-copy tests: a connected TCP pair (syscall level, non-blocking fds) with a
 * `Gate` on each direction of the wire that can drop or hold frames (a held frame is a NIC that
 * still references the skb's frags), and readers for the error queue.
 */
import assert from 'node:assert/strict';
import { constants as C, ERRNO } from '../../src/index.js';
import type { NetDevice, LinkPort } from '../../src/netdev/index.js';
import { skbFree, type SkBuff } from '../../src/skb/index.js';
import { MsgHdr } from '../../src/socket/sys/msghdr.js';
import { decodeSockExtendedErr } from '../../src/socket/sys/errqueue.js';
import { TcpSockFile } from '../../src/socket/sys/tcp-sock.js';
import { establish, makePair, run, type Pair } from '../socket/helpers.js';

/** interposes on a device's link: pass, drop or hold each frame */
export class Gate implements LinkPort {
  mode: 'pass' | 'drop' | 'hold' = 'pass';
  /** drop a frame with this probability (seeded by the caller through `rand`) */
  dropProb = 0;
  rand: () => number = () => 1;
  readonly held: SkBuff[] = [];
  dropped = 0;
  passed = 0;

  constructor(private readonly dev: NetDevice, readonly real: LinkPort) {
    dev.link = this;
  }

  transmit(skb: SkBuff, from: NetDevice): void {
    if (this.mode === 'drop' || (this.dropProb > 0 && this.rand() < this.dropProb)) {
      this.dropped++;
      skbFree(skb);
      return;
    }
    if (this.mode === 'hold') {
      this.held.push(skb);
      return;
    }
    this.passed++;
    this.real.transmit(skb, from);
  }

  /** lets the held frames go on (in order) */
  release(): void {
    const h = this.held.splice(0);
    for (const skb of h) this.real.transmit(skb, this.dev);
  }

  /** frees the held frames (lost after the NIC let go) */
  discard(): void {
    for (const skb of this.held.splice(0)) skbFree(skb);
  }

  detach(): void {
    this.dev.link = this.real;
  }
}

export interface ZcPair {
  p: Pair;
  cfd: number;
  sfd: number;
  lfd: number;
  /** A's socket */
  cs: TcpSockFile;
  /** A → B and B → A gates */
  ab: Gate;
  ba: Gate;
}

export function zcPair(opts: { family?: number; seed?: number } = {}): ZcPair {
  const p = makePair({ seed: opts.seed ?? 1 });
  const fam = opts.family ?? C.AF_INET;
  const { lfd, cfd, sfd } = establish(p, 5000, fam);
  const cs = p.a.sys.sock(cfd);
  assert.ok(cs instanceof TcpSockFile);
  const ab = new Gate(p.ea, p.ea.link as LinkPort);
  const ba = new Gate(p.eb, p.eb.link as LinkPort);
  return { p, cfd, sfd, lfd, cs, ab, ba };
}

export { run };

/** one error-queue read: [lo, hi, code] of a zero-copy notification, or null (EAGAIN) */
export function readZc(z: ZcPair): [number, number, number] | null {
  const ctl = new Uint8Array(128);
  const msg = new MsgHdr().setRecv(new Uint8Array(0), ctl);
  const r = z.p.a.sys.recvmsg(z.cfd, msg, C.MSG_ERRQUEUE);
  if (r === -ERRNO.EAGAIN) return null;
  assert.equal(r, 0);
  const ee = decodeSockExtendedErr(ctl.subarray(16, msg.controlLen))!;
  assert.equal(ee.origin, 5);
  assert.equal(ee.eeErrno, 0);
  return [ee.info, ee.data, ee.code];
}

/** every notification now queued */
export function drainZc(z: ZcPair): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let n = readZc(z); n !== null; n = readZc(z)) out.push(n);
  return out;
}

/** reads everything B has received so far */
export function recvAll(z: ZcPair): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const buf = new Uint8Array(1 << 16);
    const r = z.p.b.sys.recv(z.sfd, buf, 0);
    if (r <= 0) break;
    chunks.push(buf.slice(0, r));
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** MSG_ZEROCOPY send of `buf` from A */
export function zcSend(z: ZcPair, buf: Uint8Array, flags = 0): number {
  return z.p.a.sys.sendmsg(z.cfd, new MsgHdr().setSend(buf, 0, buf.length), C.MSG_ZEROCOPY | flags);
}
