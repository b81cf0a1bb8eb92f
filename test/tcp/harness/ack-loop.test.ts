/**
 * The ACK loop (issue 6): one forged in-window segment once started an endless ACK exchange
 * between two of our stacks (~83 000 segments per second each way, outliving both sockets).
 * Here two real stacks hold an idle established connection; one crafted segment of each kind is
 * handed to one side, then the segments both sides send over 10 virtual seconds are counted: a
 * handful at most. After both close, the stacks are quiet: zero segments over the next 10 s, and
 * no connection left once TIME_WAIT ends. A positive control shows the counter counts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TcpSock } from '../../../src/tcp/index.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../../src/wire/tcp.js';
import { hashedCount } from './probe.js';
import { Pair } from './pair.js';
import type { SegSpec } from './segment.js';

const S = 1_000_000;
/** segments both sides may send in answer to one injected segment (Linux: 1, a challenge/dup ACK) */
const HANDFUL = 4;
const PORT = 5000;

/** crafted segments aimed at B's connection (cb), as from A's port */
const KINDS: [string, (cb: TcpSock) => SegSpec][] = [
  ['out-of-order data ahead of rcv_nxt', (cb) => ({ flags: TCP_PSH | TCP_ACK, seq: cb.rcvNxt + 1000, ack: cb.sndNxt, payload: 100 })],
  ['pure ACK with seq ahead of rcv_nxt', (cb) => ({ flags: TCP_ACK, seq: cb.rcvNxt + 100, ack: cb.sndNxt })],
  ['ACK of data never sent', (cb) => ({ flags: TCP_ACK, seq: cb.rcvNxt, ack: cb.sndNxt + 5000 })],
  ['data with an ACK of data never sent', (cb) => ({ flags: TCP_PSH | TCP_ACK, seq: cb.rcvNxt, ack: cb.sndNxt + 5000, payload: 10 })],
  ['data with a too-old ACK (RFC 5961 §5.2)', (cb) => ({ flags: TCP_PSH | TCP_ACK, seq: cb.rcvNxt, ack: cb.sndNxt - 100_000_000, payload: 10 })],
  ['old duplicate data (left of the window)', (cb) => ({ flags: TCP_PSH | TCP_ACK, seq: cb.rcvNxt - 500, ack: cb.sndNxt, payload: 100 })],
  ['in-window SYN', (cb) => ({ flags: TCP_SYN, seq: cb.rcvNxt + 10 })],
  ['in-window RST (not exact)', (cb) => ({ flags: TCP_RST, seq: cb.rcvNxt + 10 })],
  ['in-window FIN ahead of rcv_nxt', (cb) => ({ flags: TCP_FIN | TCP_ACK, seq: cb.rcvNxt + 50, ack: cb.sndNxt })],
  ['zero window with seq ahead (the fuzzer\'s stall)', (cb) => ({ flags: TCP_ACK, seq: cb.rcvNxt + 1, ack: cb.sndNxt, window: 0 })],
];

/**
 * Both close; then nothing is sent. `desync`: forged data the receiver accepted moved its
 * rcv_nxt past anything the sender will send (a blind in-window injection does that to Linux
 * too), so the FINs are never acknowledged: then only RTO-paced retransmissions (exponential
 * backoff) until the orphans give up.
 */
/** groups sorted times into clusters of instants less than `gap` µs apart */
function clusters(ts: number[], gap: number): { t: number; n: number }[] {
  const out: { t: number; n: number }[] = [];
  for (const t of ts) {
    const last = out[out.length - 1];
    if (last !== undefined && t - last.t < gap) last.n++;
    else out.push({ t, n: 1 });
  }
  return out;
}

function quietAfterClose(p: Pair, cfd: number, sfd: number, desync = false): void {
  p.a.sys.close(cfd);
  p.b.sys.close(sfd);
  p.run(2 * S); // the FIN exchange
  const s0 = p.segs;
  p.run(10 * S);
  const n = p.segs - s0;
  if (!desync) {
    assert.equal(n, 0, `segments in the 10 s after both closed: ${n}`);
    p.run(60 * S); // TIME_WAIT
  } else {
    // RTO-paced: each side retransmits at RTO, 2 RTO, 4 RTO, … (≤ 6 rounds in 10 s from a
    // 200 ms RTO), a round being what both send within a millisecond (retransmissions + ACKs)
    const rounds = clusters(p.between(p.now - 10 * S).map((e) => e.seg.t), 1000);
    assert.ok(rounds.length <= 6, `${rounds.length} rounds of retransmissions in 10 s: ${rounds.map((r) => `${r.t}:${r.n}`).join(' ')}`);
    for (const r of rounds) assert.ok(r.n <= 10, `round at ${r.t} µs: ${r.n} segments`);
    for (let i = 2; i < rounds.length; i++) {
      assert.ok(rounds[i]!.t - rounds[i - 1]!.t >= 1.9 * (rounds[i - 1]!.t - rounds[i - 2]!.t), 'exponential backoff');
    }
    p.run(20 * 60 * S);
    const s1 = p.segs;
    p.run(60 * S);
    assert.equal(p.segs - s1, 0, 'quiet once the orphans gave up');
  }
  assert.equal(hashedCount(p.a) + hashedCount(p.b), 0, 'connections left');
}

describe('ACK loop: one injected segment, then quiet', () => {
  for (const family of [4, 6] as const) {
    for (const [name, make] of KINDS) {
      it(`IPv${family}: ${name}`, () => {
        const p = new Pair({ family });
        const { cfd, sfd, ca, cb } = p.establish(PORT);
        p.run(S);
        const s0 = p.segs;
        p.injectTo('b', { ...make(cb), sport: ca.lport, dport: PORT });
        p.run(10 * S);
        const n = p.segs - s0;
        assert.ok(n <= HANDFUL, `${n} segments in 10 s after one injected segment`);
        // the connection still carries data both ways
        assert.equal(p.a.sys.send(cfd, new Uint8Array(1000).fill(1)), 1000);
        assert.equal(p.b.sys.send(sfd, new Uint8Array(1000).fill(2)), 1000);
        p.run(S);
        const buf = new Uint8Array(4000);
        // a forged zero window may stall B → A until A sends data B's window update rides on
        // (the forged out-of-order bytes join the stream when A's data fills the hole up to them)
        const got = p.b.sys.recv(sfd, buf);
        assert.ok(got === 1000 || (got === 1100 && name.startsWith('out-of-order')), `A → B after the injection: ${got}`);
        assert.equal(p.a.sys.recv(cfd, buf), 1000, 'B → A after the injection');
        quietAfterClose(p, cfd, sfd, got === 1100);
        p.close();
      });
    }
  }

  it('the same injection into both sides at once', () => {
    const p = new Pair();
    const { cfd, sfd, ca, cb } = p.establish(PORT);
    p.run(S);
    const s0 = p.segs;
    for (const [, make] of KINDS) {
      p.injectTo('b', { ...make(cb), sport: ca.lport, dport: PORT });
      p.injectTo('a', { ...make(ca), sport: PORT, dport: ca.lport });
    }
    p.run(10 * S);
    // one answer per socket per 500 ms at most, for each family of invalid input: bounded
    assert.ok(p.segs - s0 <= 4 * HANDFUL, `${p.segs - s0} segments`);
    const last5 = p.between(p.now - 5 * S).length;
    assert.equal(last5, 0, 'quiet in the last 5 s');
    quietAfterClose(p, cfd, sfd);
    p.close();
  });

  it('positive control: the counter sees the handshake, data, ACKs and the FIN exchange', () => {
    const p = new Pair();
    const s0 = p.segs;
    const { cfd, sfd } = p.establish(PORT);
    assert.equal(p.segs - s0, 3, 'SYN, SYN-ACK, ACK');
    const s1 = p.segs;
    assert.equal(p.a.sys.send(cfd, new Uint8Array(3000)), 3000);
    p.run(S);
    assert.ok(p.segs - s1 >= 3, `data and ACKs: ${p.segs - s1}`);
    const s2 = p.segs;
    p.a.sys.close(cfd);
    p.b.sys.close(sfd);
    p.run(S);
    assert.ok(p.segs - s2 >= 3, `FIN exchange: ${p.segs - s2}`);
    // and a forged segment that must be answered is counted
    const s3 = p.segs;
    p.injectTo('b', { flags: TCP_SYN, seq: 1, sport: 1234, dport: 9 });
    assert.equal(p.segs - s3, 1, 'RST to a closed port');
    p.close();
  });
});
