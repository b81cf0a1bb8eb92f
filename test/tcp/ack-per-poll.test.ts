// ACK per device poll (Linux TCP_ACK_DEFERRED): on a device polled NAPI-style (a link port),
// the regular "every second segment" ACK goes out once, when the poll batch ends; quick ACKs,
// out-of-order answers, FIN and anything we send in between stay immediate. A simulated wire's
// device keeps one ACK per two segments. Two hosts over a hand-driven FrameLink pair in virtual
// time: A → B frames can be held and handed to B's port as one batch, B's frames are parsed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, Network, type FrameLink, type FrameMeta, type Host, type LinkReceiver } from '../../src/index.js';
import { FramePort, isBatchReceiver } from '../../src/link/frame-port.js';

/** one end of a frame pipe: frames go to the peer at once unless `hold` keeps them for the test */
class PipeEnd implements FrameLink {
  readonly kind = 'pipe';
  readonly mtu = 1500;
  readonly offloads = {};
  rx: LinkReceiver | null = null;
  peer: PipeEnd | null = null;
  hold = false;
  readonly held: Uint8Array[] = [];
  /** every frame this end sent, in order */
  readonly sent: Uint8Array[] = [];
  attach(rx: LinkReceiver): void {
    this.rx = rx;
  }
  send(frame: Uint8Array, _meta?: FrameMeta | null): boolean {
    const copy = frame.slice();
    this.sent.push(copy);
    if (this.hold) this.held.push(copy);
    else this.peer?.rx?.receive(copy, null);
    return true;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface Seg {
  seq: number;
  ack: number;
  flags: number;
  win: number;
  len: number;
}

const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;

/** the TCP segment in an Ethernet + IPv4 frame, or null */
function tcpOf(f: Uint8Array): Seg | null {
  const dv = new DataView(f.buffer, f.byteOffset, f.length);
  if (f.length < 54 || dv.getUint16(12) !== 0x0800 || f[23] !== 6) return null;
  const ihl = (f[14]! & 15) * 4;
  const o = 14 + ihl;
  const doff = (f[o + 12]! >> 4) * 4;
  return {
    seq: dv.getUint32(o + 4), ack: dv.getUint32(o + 8), flags: f[o + 13]!, win: dv.getUint16(o + 14),
    len: dv.getUint16(16) - ihl - doff,
  };
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed * 13 + (i >> 9)) & 0xff;
  return b;
}

interface Rig {
  net: Network;
  a: Host;
  b: Host;
  ab: PipeEnd;
  ba: PipeEnd;
  portB: FramePort;
}

function rig(seed: number): Rig {
  const ab = new PipeEnd();
  const ba = new PipeEnd();
  ab.peer = ba;
  ba.peer = ab;
  const net = new Network({ seed });
  const a = net.addHost('a');
  const b = net.addHost('b');
  a.addDevice('eth0', { link: ab });
  const devB = b.addDevice('eth0', { link: ba });
  // one skb per frame, so a batch of frames is a batch of skbs at TCP
  devB.gro = false;
  a.ip.addAddress('eth0', '10.7.0.1/24');
  b.ip.addAddress('eth0', '10.7.0.2/24');
  const portB = net.links.find((l): l is FramePort => l instanceof FramePort && l.link === ba)!;
  assert.ok(portB !== undefined && isBatchReceiver(portB));
  return { net, a, b, ab, ba, portB };
}

/** a connection A → B with the quick-ACK phase over (B acks in its regular mode) */
async function connected(r: Rig, port = 7300): Promise<{ cs: ReturnType<Host['socket']>; ss: ReturnType<Host['socket']>; ls: ReturnType<Host['socket']> }> {
  const ls = r.b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', port);
  ls.listen(4);
  const acc = ls.accept();
  const cs = r.a.socket(C.AF_INET, C.SOCK_STREAM);
  await cs.connect('10.7.0.2', port);
  const ss = await acc;
  // 40 segments: past the 16 quick ACKs of a new connection
  const warm = pattern(40 * 1448, 1);
  await cs.send(warm);
  let got = 0;
  const into = new Uint8Array(1 << 16);
  while (got < warm.length) got += await ss.recvmsgInto(into, null);
  r.net.runUntilIdle(1_000_000);
  return { cs, ss, ls };
}

/** B's TCP segments sent since index `from` of `r.ba.sent` */
function segsFromB(r: Rig, from: number): Seg[] {
  return r.ba.sent.slice(from).map(tcpOf).filter((s): s is Seg => s !== null);
}

/** the TCP source port of an Ethernet + IPv4 frame */
function sportOf(f: Uint8Array): number {
  const o = 14 + (f[14]! & 15) * 4;
  return (f[o]! << 8) | f[o + 1]!;
}

/** A sends `n` bytes; its frames are held, not delivered */
function heldSend(r: Rig, cs: ReturnType<Host['socket']>, n: number, seed: number): Uint8Array[] {
  r.ab.hold = true;
  r.ab.held.length = 0;
  void cs.send(pattern(n, seed));
  r.net.runFor(10);
  r.ab.hold = false;
  return r.ab.held.splice(0).filter((f) => (tcpOf(f)?.len ?? 0) > 0);
}

describe('ACK per device poll (TCP_ACK_DEFERRED)', () => {
  it('a batch of in-order segments is answered by one ACK, sent when the poll ends, acking all of it', async () => {
    const r = rig(31);
    const { cs, ss, ls } = await connected(r);
    const frames = heldSend(r, cs, 8 * 1448, 2);
    assert.equal(frames.length, 8);
    const last = tcpOf(frames[7]!)!;
    const mark = r.ba.sent.length;
    for (const f of frames) r.portB.receiveInBatch(f, null);
    // every segment is at TCP already (no GRO), but the regular ACKs wait for the batch's end
    assert.equal(r.b.device('eth0')!.napiPoll, true);
    assert.deepEqual(segsFromB(r, mark), [], 'no ACK inside the batch (was one per two segments)');
    r.portB.flush();
    const acks = segsFromB(r, mark);
    assert.equal(acks.length, 1, 'one ACK for the batch');
    assert.equal(acks[0]!.flags, ACK);
    assert.equal(acks[0]!.len, 0);
    assert.equal(acks[0]!.ack, (last.seq + last.len) >>> 0, 'it acknowledges the whole batch');
    // nothing owed any more: no further ACK (no delayed-ACK timer left over)
    r.net.runUntilIdle(1_000_000);
    const into = new Uint8Array(1 << 16);
    let got = 0;
    while (got < 8 * 1448) got += await ss.recvmsgInto(into, null);
    assert.equal(r.b.kernel.tcp.ackDeferLen, 0);
    cs.close();
    ss.close();
    ls.close();
    await r.net.close();
  });

  it('the ring path too: frames queued by receive() are one poll, one ACK; several polls, one ACK each', async () => {
    const r = rig(32);
    const { cs, ss, ls } = await connected(r);
    const frames = heldSend(r, cs, 10 * 1448, 3);
    assert.equal(frames.length, 10);
    const mark = r.ba.sent.length;
    // two batches of five: each poll ends with exactly one ACK
    for (const f of frames.slice(0, 5)) r.portB.receive(f, null);
    assert.deepEqual(segsFromB(r, mark), [], 'receive() only fills the ring');
    r.portB.flush();
    const first = segsFromB(r, mark);
    for (const f of frames.slice(5)) r.portB.receive(f, null);
    r.portB.flush();
    const both = segsFromB(r, mark);
    assert.equal(first.length, 1);
    assert.equal(both.length, 2);
    const s4 = tcpOf(frames[4]!)!;
    const s9 = tcpOf(frames[9]!)!;
    assert.deepEqual(both.map((s) => s.ack), [(s4.seq + s4.len) >>> 0, (s9.seq + s9.len) >>> 0]);
    cs.close();
    ss.close();
    ls.close();
    await r.net.close();
  });

  it('two connections in one batch: one ACK each at the end of the poll, in the order they deferred', async () => {
    const r = rig(37);
    const one = await connected(r, 7300);
    const two = await connected(r, 7301);
    const f1 = heldSend(r, one.cs, 4 * 1448, 8);
    const f2 = heldSend(r, two.cs, 4 * 1448, 9);
    assert.equal(f1.length + f2.length, 8);
    const mark = r.ba.sent.length;
    // interleaved: 2 of the second, 4 of the first, 2 of the second
    for (const f of [f2[0]!, f2[1]!, ...f1, f2[2]!, f2[3]!]) r.portB.receiveInBatch(f, null);
    assert.equal(r.b.kernel.tcp.ackDeferLen, 2, 'each socket is queued once');
    r.portB.flush();
    const out = r.ba.sent.slice(mark);
    assert.equal(out.length, 2);
    const end = (f: Uint8Array): number => {
      const s = tcpOf(f)!;
      return (s.seq + s.len) >>> 0;
    };
    // the second connection deferred first; each ACK goes to its own connection and covers all of it
    assert.equal(tcpOf(out[0]!)!.ack, end(f2[3]!));
    assert.equal(tcpOf(out[1]!)!.ack, end(f1[3]!));
    const dportOf = (f: Uint8Array): number => {
      const o = 14 + (f[14]! & 15) * 4;
      return (f[o + 2]! << 8) | f[o + 3]!;
    };
    assert.equal(dportOf(out[0]!), sportOf(f2[0]!));
    assert.equal(dportOf(out[1]!), sportOf(f1[0]!));
    for (const c of [one, two]) {
      c.cs.close();
      c.ss.close();
      c.ls.close();
    }
    await r.net.close();
  });

  it('out-of-order data inside a batch is answered at once; the deferred ACK it carried is not sent again', async () => {
    const r = rig(33);
    const { cs, ss, ls } = await connected(r);
    const frames = heldSend(r, cs, 6 * 1448, 4);
    assert.equal(frames.length, 6);
    const mark = r.ba.sent.length;
    // 0, 1, 2 in order (deferred), 4 and 5 beyond a hole (two duplicate ACKs, at once)
    for (const i of [0, 1, 2, 4, 5]) r.portB.receiveInBatch(frames[i]!, null);
    const inBatch = segsFromB(r, mark);
    const s2 = tcpOf(frames[2]!)!;
    assert.equal(inBatch.length, 2, 'one duplicate ACK per out-of-order segment, sent inside the batch');
    for (const d of inBatch) assert.equal(d.ack, (s2.seq + s2.len) >>> 0);
    r.portB.flush();
    assert.equal(segsFromB(r, mark).length, 2, 'the dupacks carried the deferred ACK: nothing more at the end');
    // the hole filled: ACK at once (out-of-order queue drained), covering everything
    const m2 = r.ba.sent.length;
    r.portB.receiveInBatch(frames[3]!, null);
    const fill = segsFromB(r, m2);
    const s5 = tcpOf(frames[5]!)!;
    assert.equal(fill.length, 1);
    assert.equal(fill[0]!.ack, (s5.seq + s5.len) >>> 0);
    r.portB.flush();
    assert.equal(segsFromB(r, m2).length, 1);
    cs.close();
    ss.close();
    ls.close();
    await r.net.close();
  });

  it('a FIN inside the batch is acked at once; the data before it needs no second ACK', async () => {
    const r = rig(34);
    const { cs, ss, ls } = await connected(r);
    r.ab.hold = true;
    void cs.send(pattern(4 * 1448, 5));
    cs.shutdown(C.SHUT_WR);
    r.net.runFor(10);
    r.ab.hold = false;
    const frames = r.ab.held.splice(0);
    const fin = frames.map(tcpOf).find((s) => s !== null && (s.flags & FIN) !== 0);
    assert.ok(fin, 'the FIN was sent in the burst');
    const mark = r.ba.sent.length;
    for (const f of frames) r.portB.receiveInBatch(f, null);
    const acks = segsFromB(r, mark);
    assert.equal(acks.length, 1, 'the FIN is acked inside the batch');
    assert.equal(acks[0]!.ack, (fin.seq + fin.len + 1) >>> 0);
    r.portB.flush();
    assert.equal(segsFromB(r, mark).length, 1, 'nothing left to send at the end of the poll');
    ss.close();
    cs.close();
    ls.close();
    await r.net.close();
  });

  it('a socket reset inside the batch sends nothing at the end, and the deferred list lets it go', async () => {
    const r = rig(35);
    const { cs, ss, ls } = await connected(r);
    const frames = heldSend(r, cs, 4 * 1448, 6);
    assert.equal(frames.length, 4);
    // a RST from A, in window, after the data (what an abort of A would send)
    const rst = frames[3]!.slice(0, 54);
    const last = tcpOf(frames[3]!)!;
    const dv = new DataView(rst.buffer);
    dv.setUint16(16, 40);
    dv.setUint32(14 + 20 + 4, (last.seq + last.len) >>> 0);
    rst[14 + 20 + 12] = 5 << 4;
    rst[14 + 20 + 13] = RST | ACK;
    fixChecksums(rst);
    const mark = r.ba.sent.length;
    for (const f of frames) r.portB.receiveInBatch(f, null);
    r.portB.receiveInBatch(rst, null);
    assert.equal(r.b.kernel.tcp.ackDeferLen, 1, 'the data deferred an ACK');
    r.portB.flush();
    assert.deepEqual(segsFromB(r, mark), [], 'a closed socket answers nothing');
    assert.equal(r.b.kernel.tcp.ackDeferLen, 0);
    assert.ok(r.b.kernel.tcp.ackDeferQ.every((t) => t === null), 'no socket kept alive by the list');
    await assert.rejects(ss.send(pattern(10, 1)), /ECONNRESET|EPIPE/);
    ss.close();
    cs.close();
    ls.close();
    await r.net.close();
  });

  it('a simulated wire (no NAPI poll) keeps one ACK per two segments: the deferral never applies there', async () => {
    const net = new Network({ seed: 38 });
    const a = net.addHost('a');
    const b = net.addHost('b');
    const ea = a.addDevice('eth0');
    const eb = b.addDevice('eth0');
    eb.gro = false;
    net.connect(ea, eb, { gbps: 10, delayUs: 20 });
    a.ip.addAddress('eth0', '10.8.0.1/24');
    b.ip.addAddress('eth0', '10.8.0.2/24');
    assert.equal(eb.napiPoll, false);
    const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
    ls.bind('0.0.0.0', 7400);
    ls.listen(4);
    const acc = ls.accept();
    const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
    await cs.connect('10.8.0.2', 7400);
    const ss = await acc;
    const data = pattern(1 << 20, 3);
    const into = new Uint8Array(1 << 16);
    const reader = (async () => {
      let got = 0;
      while (got < data.length) got += await ss.recvmsgInto(into, null);
    })();
    await cs.send(data);
    await reader;
    net.runUntilIdle(1_000_000);
    const rx = eb.rxQueues.reduce((n, q) => n + q.stats.rxPackets, 0);
    const tx = eb.txQueues.reduce((n, q) => n + q.stats.txPackets, 0);
    assert.ok(rx >= 724, `data frames ${rx}`);
    assert.ok(tx * 2 >= rx - 20, `one ACK per two segments: ${tx} ACKs for ${rx} frames`);
    assert.equal(b.kernel.tcp.ackDeferLen, 0);
    cs.close();
    ss.close();
    ls.close();
    await net.close();
  });

  it('a bulk transfer: every byte arrives, B sends about one ACK per poll, far fewer than one per two segments', async () => {
    const r = rig(36);
    const { cs, ss, ls } = await connected(r);
    const data = pattern(2 << 20, 7);
    const markB = r.ba.sent.length;
    const markA = r.ab.sent.length;
    const polls0 = r.portB.stats.polls;
    const parts: Uint8Array[] = [];
    const into = new Uint8Array(1 << 16);
    const reader = (async () => {
      let got = 0;
      while (got < data.length) {
        const n = await ss.recvmsgInto(into, null);
        parts.push(into.slice(0, n));
        got += n;
      }
    })();
    await cs.send(data);
    await reader;
    assert.deepEqual(Buffer.concat(parts), Buffer.from(data));
    r.net.runUntilIdle(1_000_000);
    const dataSegs = r.ab.sent.slice(markA).map(tcpOf).filter((s) => s !== null && s.len > 0).length;
    const acks = segsFromB(r, markB).filter((s) => s.len === 0).length;
    const polls = r.portB.stats.polls - polls0;
    assert.ok(dataSegs >= 1448, `data segments ${dataSegs}`);
    // one per poll, plus the odd window update sent when the reader frees space
    assert.ok(acks <= polls + 2, `about one ACK per poll (${acks} ACKs, ${polls} polls)`);
    assert.ok(acks * 4 < dataSegs, `${acks} ACKs for ${dataSegs} segments`);
    cs.close();
    ss.close();
    ls.close();
    await r.net.close();
  });
});

/** recomputes the IPv4 header and TCP checksums of an Ethernet + IPv4 + TCP frame */
function fixChecksums(f: Uint8Array): void {
  const dv = new DataView(f.buffer, f.byteOffset, f.length);
  const sum = (from: number, to: number, init: number): number => {
    let s = init;
    for (let i = from; i < to; i += 2) s += (f[i]! << 8) | (i + 1 < to ? f[i + 1]! : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  dv.setUint16(24, 0);
  dv.setUint16(24, ~sum(14, 34, 0) & 0xffff);
  const tlen = dv.getUint16(16) - 20;
  dv.setUint16(34 + 16, 0);
  let ph = 6 + tlen;
  for (let i = 26; i < 34; i += 2) ph += (f[i]! << 8) | f[i + 1]!;
  dv.setUint16(34 + 16, ~sum(34, 34 + tlen, ph) & 0xffff);
}
