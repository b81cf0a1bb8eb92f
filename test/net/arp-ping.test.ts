import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERRNO, ErrnoError } from '../../src/uapi/index.js';
import { MAX_HEADER, type IcmpErr } from '../../src/net/index.js';
import { pskbMayPull, skbFree, skbPut } from '../../src/skb/index.js';
import { ipv4AddrToString } from '../../src/wire/addr.js';
import {
  MAC_A, MAC_B, concat, ethHeader, flushMicrotasks, hex, icmpMsg, inject, ipPacket, naiveCsum, pattern, runFor, toHex, track,
  twoHosts, type Host,
} from './harness.js';

const ARP_REQ_A_FOR_B = hex(`ff ff ff ff ff ff 02 00 00 00 00 0a 08 06
  00 01 08 00 06 04 00 01 02 00 00 00 00 0a 0a 00 00 01 00 00 00 00 00 00 0a 00 00 02`);
const ARP_REPLY_B_TO_A = hex(`02 00 00 00 00 0a 02 00 00 00 00 0b 08 06
  00 01 08 00 06 04 00 02 02 00 00 00 00 0b 0a 00 00 02 02 00 00 00 00 0a 0a 00 00 01`);
// 10.0.0.1 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64 (IP id 0, DF, ttl 64)
const ECHO_REQ = concat(
  hex('02 00 00 00 00 0b 02 00 00 00 00 0a 08 00'),
  hex('45 00 00 54 00 00 40 00 40 01 26 a7 0a 00 00 01 0a 00 00 02'),
  hex('08 00 00 eb 00 01 00 01'), pattern(56),
);
// 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 1, seq 1 (IP id 0, no DF: Linux replies from the icmp socket)
const ECHO_REPLY = concat(
  hex('02 00 00 00 00 0a 02 00 00 00 00 0b 08 00'),
  hex('45 00 00 54 00 00 00 00 40 01 66 a7 0a 00 00 02 0a 00 00 01'),
  hex('00 00 08 eb 00 01 00 01'), pattern(56),
);

function neighState(h: Host, ip: number): string | undefined {
  return h.stack.neighbours().find((n) => n.addr === ipv4AddrToString(ip))?.state;
}

describe('ARP resolution and ping', () => {
  it('the hand-computed checksums in the expected frames are right', () => {
    assert.equal(naiveCsum(ECHO_REQ, 14, 20), 0);
    assert.equal(naiveCsum(ECHO_REQ, 34), 0);
    assert.equal(naiveCsum(ECHO_REPLY, 14, 20), 0);
    assert.equal(naiveCsum(ECHO_REPLY, 34), 0);
  });

  it('resolves B, pings it, and every frame is byte-exact', async () => {
    const { sched, link, a, b } = twoHosts(10);
    const s = track(a.stack.ping('10.0.0.2'));
    runFor(sched, 1_000_000);
    await flushMicrotasks();
    assert.equal(link.frames.length, 4, link.frames.map((f) => `${f.from} ${toHex(f.bytes)}`).join('\n'));
    const [req, rep, echo, echoRep] = link.frames;
    assert.equal(req!.from, 'A');
    assert.equal(req!.t, 0);
    assert.equal(toHex(req!.bytes), toHex(ARP_REQ_A_FOR_B));
    assert.equal(rep!.from, 'B');
    assert.equal(rep!.t, 10);
    assert.equal(toHex(rep!.bytes), toHex(ARP_REPLY_B_TO_A));
    assert.equal(echo!.from, 'A');
    assert.equal(echo!.t, 20);
    assert.equal(toHex(echo!.bytes), toHex(ECHO_REQ));
    assert.equal(echoRep!.from, 'B');
    assert.equal(echoRep!.t, 30);
    assert.equal(toHex(echoRep!.bytes), toHex(ECHO_REPLY));
    assert.ok(s.done);
    assert.deepEqual(s.value, { rttUs: 40, bytes: 64, ttl: 64 });

    assert.equal(neighState(a, 0x0a000002), 'reachable');
    // B learned A from the request (stale), used it for the reply (delay)
    assert.equal(neighState(b, 0x0a000001), 'delay');
    assert.equal(a.stack.neighbours().find((n) => n.addr === ipv4AddrToString(0x0a000002))?.mac, MAC_B);
    assert.deepEqual(
      { req: a.stack.stats.arp.outRequests, rep: a.stack.stats.arp.inReplies, echos: a.stack.stats.icmp.outEchos, reps: a.stack.stats.icmp.inEchoReps },
      { req: 1, rep: 1, echos: 1, reps: 1 },
    );
    assert.deepEqual(
      { req: b.stack.stats.arp.inRequests, rep: b.stack.stats.arp.outReplies, echos: b.stack.stats.icmp.inEchos, reps: b.stack.stats.icmp.outEchoReps },
      { req: 1, rep: 1, echos: 1, reps: 1 },
    );
    assert.equal(a.stack.stats.inDelivers, 1);
    assert.equal(b.stack.stats.inDelivers, 1);
    assert.equal(a.skbs.live, 0);
    assert.equal(b.skbs.live, 0);

    // second ping: no ARP, RTT is one round trip, seq 2, IP id 1
    const s2 = track(a.stack.ping('10.0.0.2'));
    runFor(sched, 1000);
    await flushMicrotasks();
    assert.deepEqual(s2.value, { rttUs: 20, bytes: 64, ttl: 64 });
    assert.equal(link.frames.length, 6);
    const e2 = link.frames[4]!.bytes;
    assert.equal(toHex(e2.subarray(18, 20)), '00 01', 'IP ident increments');
    assert.equal(toHex(e2.subarray(38, 42)), '00 01 00 02', 'ident 1, seq 2');
    assert.equal(naiveCsum(e2, 14, 20), 0);
    assert.equal(naiveCsum(e2, 34), 0);
  });

  it('B probes A with a unicast request after DELAY, and A ages to stale after 30 s', async () => {
    const { sched, link, a, b } = twoHosts(10);
    const s = track(a.stack.ping('10.0.0.2'));
    runFor(sched, 5_000_000 + 100);
    await flushMicrotasks();
    assert.ok(s.done);
    // at 5 s + 30 µs B's DELAY expired: unicast probe to A, A answers, B is reachable
    const probe = link.frames[4]!;
    assert.equal(probe.from, 'B');
    assert.equal(probe.t, 5_000_030);
    assert.equal(toHex(probe.bytes), toHex(hex(`02 00 00 00 00 0a 02 00 00 00 00 0b 08 06
      00 01 08 00 06 04 00 01 02 00 00 00 00 0b 0a 00 00 02 00 00 00 00 00 00 0a 00 00 01`)));
    assert.equal(toHex(link.frames[5]!.bytes), toHex(hex(`02 00 00 00 00 0b 02 00 00 00 00 0a 08 06
      00 01 08 00 06 04 00 02 02 00 00 00 00 0a 0a 00 00 01 02 00 00 00 00 0b 0a 00 00 02`)));
    assert.equal(link.frames.length, 6);
    assert.equal(neighState(b, 0x0a000001), 'reachable');

    runFor(sched, 30_000_000);
    assert.equal(neighState(a, 0x0a000002), 'stale');
    const n = link.frames.length;
    // a stale entry is used at once (no broadcast request first) and enters delay
    const s2 = track(a.stack.ping('10.0.0.2'));
    assert.equal(link.frames.length, n + 1);
    assert.equal(toHex(link.frames[n]!.bytes.subarray(0, 14)), '02 00 00 00 00 0b 02 00 00 00 00 0a 08 00');
    assert.equal(neighState(a, 0x0a000002), 'delay');
    runFor(sched, 1000);
    await flushMicrotasks();
    assert.equal(s2.value?.rttUs, 20);
    runFor(sched, 5_000_000);
    assert.equal(neighState(a, 0x0a000002), 'reachable', 'probe answered');
    const probes = link.from('A').filter((f) => f.bytes[12] === 0x08 && f.bytes[13] === 0x06 && f.bytes[21] === 1);
    assert.equal(probes.length, 2);
    assert.equal(toHex(probes[1]!.bytes.subarray(0, 6)), '02 00 00 00 00 0b', 'unicast probe');
  });

  it('upper-layer confirmation keeps a DELAY entry from probing', () => {
    const { sched, link, a } = twoHosts(10);
    track(a.stack.ping('10.0.0.2'));
    runFor(sched, 31_000_000);
    track(a.stack.ping('10.0.0.2'));
    assert.equal(neighState(a, 0x0a000002), 'delay');
    const n = link.frames.length;
    runFor(sched, 2_000_000);
    a.stack.confirmNeighbour(a.dev, 0x0a000002);
    runFor(sched, 4_000_000);
    assert.equal(neighState(a, 0x0a000002), 'reachable');
    assert.equal(link.from('A').slice(-1)[0]!.bytes[13], 0x00, 'no ARP from A since');
    assert.equal(link.frames.length, n + 1, 'only the echo reply came back');
  });

  it('ARP failure rejects ping with EHOSTUNREACH after 3 s and drops the queue', async () => {
    const { sched, link, a } = twoHosts(10);
    const s = track(a.stack.ping('10.0.0.99'));
    let rejectedAt = -1;
    assert.equal(a.stack.icmp.pendingPings, 1);
    while (sched.step()) {
      await flushMicrotasks();
      if (s.done && rejectedAt < 0) rejectedAt = sched.now();
    }
    assert.ok(s.error instanceof ErrnoError);
    assert.equal((s.error as ErrnoError).errno, ERRNO.EHOSTUNREACH);
    assert.equal(rejectedAt, 3_000_000);
    const reqs = link.from('A');
    assert.deepEqual(reqs.map((f) => f.t), [0, 1_000_000, 2_000_000]);
    for (const f of reqs) {
      assert.equal(toHex(f.bytes), toHex(hex(`ff ff ff ff ff ff 02 00 00 00 00 0a 08 06
        00 01 08 00 06 04 00 01 02 00 00 00 00 0a 0a 00 00 01 00 00 00 00 00 00 0a 00 00 63`)));
    }
    assert.equal(neighState(a, 0x0a000063), 'failed');
    assert.equal(a.stack.neigh.stats.resFailed, 1);
    assert.equal(a.stack.neigh.stats.unresDiscards, 1);
    assert.equal(a.stack.stats.arp.outRequests, 3);
    assert.equal(a.stack.icmp.pendingPings, 0);
    assert.equal(sched.pending, 0, 'no timer left');
    assert.equal(a.skbs.live, 0);

    // a new packet restarts resolution
    const s2 = track(a.stack.ping('10.0.0.99', { timeoutUs: 500_000 }));
    runFor(sched, 600_000);
    await flushMicrotasks();
    assert.equal((s2.error as ErrnoError).errno, ERRNO.ETIMEDOUT);
    assert.equal(link.from('A').length, 4);
    assert.equal(neighState(a, 0x0a000063), 'incomplete');
  });

  it('the unresolved queue keeps the newest 101 packets (unres_qlen), flushes them in order, and reports failures', () => {
    const { sched, a, b } = twoHosts(10);
    const got: number[] = [];
    b.stack.registerProtocol(253, { ipRcv(skb) { assert.ok(pskbMayPull(skb, 1)); got.push(skb.buf[skb.data]!); skbFree(skb); } });
    for (let i = 0; i < 110; i++) assert.equal(send253(a, '10.0.0.2', i), 0);
    assert.equal(a.stack.neigh.stats.unresDiscards, 9);
    assert.equal(a.stack.stats.arp.outRequests, 1, 'one request, not one per queued packet');
    runFor(sched, 1000);
    assert.deepEqual(got, Array.from({ length: 101 }, (_, i) => i + 9));
    assert.equal(a.skbs.live, 0);
    assert.equal(b.skbs.live, 0);

    const errs: { errno: number; local: boolean; first: number }[] = [];
    a.stack.registerProtocol(253, {
      ipRcv(skb) { skbFree(skb); },
      ipErr(e: IcmpErr) { errs.push({ errno: e.errno, local: e.local, first: e.buf[e.l4Off]! }); },
    });
    for (let i = 0; i < 110; i++) send253(a, '10.0.0.77', i);
    runFor(sched, 4_000_000);
    assert.equal(a.stack.neigh.stats.unresDiscards, 9 + 9 + 101);
    assert.equal(errs.length, 101);
    assert.deepEqual(errs[0], { errno: ERRNO.EHOSTUNREACH, local: true, first: 9 });
    assert.equal(a.skbs.live, 0);
  });

  it('answers requests only for its own addresses, learns gratuitous ARP only for known hosts', () => {
    const { sched, link, a } = twoHosts(10);
    const MAC_X = 0x02000000001f;
    // request from X (10.0.0.31) for 10.0.0.50: not ours, no reply, no entry
    inject(a, concat(ethHeader(0xffffffffffff, MAC_X, 0x0806),
      hex('00 01 08 00 06 04 00 01 02 00 00 00 00 1f 0a 00 00 1f 00 00 00 00 00 00 0a 00 00 32')));
    runFor(sched, 100);
    assert.equal(link.from('A').length, 0);
    assert.equal(neighState(a, 0x0a00001f), undefined);
    // gratuitous ARP from X: unknown, not learned
    inject(a, concat(ethHeader(0xffffffffffff, MAC_X, 0x0806),
      hex('00 01 08 00 06 04 00 01 02 00 00 00 00 1f 0a 00 00 1f 00 00 00 00 00 00 0a 00 00 1f')));
    assert.equal(neighState(a, 0x0a00001f), undefined);
    // request from X for 10.0.0.1: answered, X learned as stale
    inject(a, concat(ethHeader(0xffffffffffff, MAC_X, 0x0806),
      hex('00 01 08 00 06 04 00 01 02 00 00 00 00 1f 0a 00 00 1f 00 00 00 00 00 00 0a 00 00 01')));
    runFor(sched, 100);
    assert.equal(toHex(link.from('A')[0]!.bytes), toHex(hex(`02 00 00 00 00 1f 02 00 00 00 00 0a 08 06
      00 01 08 00 06 04 00 02 02 00 00 00 00 0a 0a 00 00 01 02 00 00 00 00 1f 0a 00 00 1f`)));
    assert.equal(neighState(a, 0x0a00001f), 'stale');
    // gratuitous ARP from X with a new MAC: entry updated
    inject(a, concat(ethHeader(0xffffffffffff, 0x020000000020, 0x0806),
      hex('00 01 08 00 06 04 00 01 02 00 00 00 00 20 0a 00 00 1f 00 00 00 00 00 00 0a 00 00 1f')));
    assert.equal(a.stack.neighbours().find((n) => n.addr === ipv4AddrToString(0x0a00001f))?.mac, 0x020000000020);
    assert.equal(a.stack.stats.arp.inRequests, 4);
    assert.equal(a.stack.stats.arp.outReplies, 1);
    // malformed ARP (hlen 8) and a truncated one are counted
    inject(a, concat(ethHeader(0xffffffffffff, MAC_X, 0x0806),
      hex('00 01 08 00 08 04 00 01 02 00 00 00 00 1f 0a 00 00 1f 00 00 00 00 00 00 0a 00 00 01')));
    inject(a, concat(ethHeader(0xffffffffffff, MAC_X, 0x0806), hex('00 01 08 00 06 04 00 01')));
    assert.equal(a.stack.stats.arp.inErrors, 2);
    // a duplicate-address probe (sender 0.0.0.0) for our address is answered to 0.0.0.0
    inject(a, concat(ethHeader(0xffffffffffff, MAC_X, 0x0806),
      hex('00 01 08 00 06 04 00 01 02 00 00 00 00 1f 00 00 00 00 00 00 00 00 00 00 0a 00 00 01')));
    runFor(sched, 100);
    assert.equal(toHex(link.from('A')[1]!.bytes.subarray(22, 42)), '02 00 00 00 00 0a 0a 00 00 01 02 00 00 00 00 1f 00 00 00 00');
    assert.equal(a.skbs.live, 0);
  });

  it('an ICMP host-unreachable from the network rejects the ping', async () => {
    const { sched, link, a, b } = twoHosts(10);
    a.stack.addRoute({ dst: '0.0.0.0/0', via: '10.0.0.2' });
    const s = track(a.stack.ping('192.168.5.5', { seq: 7, timeoutUs: 5_000_000 }));
    runFor(sched, 1000);
    const echo = link.from('A').find((f) => f.bytes[13] === 0x00)!;
    assert.equal(toHex(echo.bytes.subarray(0, 6)), '02 00 00 00 00 0b', 'sent to the gateway MAC');
    assert.equal(toHex(echo.bytes.subarray(30, 34)), 'c0 a8 05 05', 'IP destination unchanged');
    assert.equal(b.stack.stats.inAddrErrors, 1, 'B does not forward');
    assert.equal(s.done, false);
    // B (as a router would) reports host unreachable, quoting A's datagram
    const quote = echo.bytes.subarray(14, 14 + 28);
    inject(a, concat(ethHeader(MAC_A, MAC_B, 0x0800),
      ipPacket({ proto: 1, src: '10.0.0.2', dst: '10.0.0.1', tos: 0xc0, frag: 0 }, icmpMsg(3, 1, 0, quote))));
    await flushMicrotasks();
    assert.ok(s.done);
    assert.equal((s.error as ErrnoError).errno, ERRNO.EHOSTUNREACH);
    assert.equal(a.stack.stats.icmp.inDestUnreachs, 1);
    assert.equal(a.stack.icmp.pendingPings, 0);
  });

  it('ping times out with ETIMEDOUT on scheduler time', async () => {
    const { sched, link, a } = twoHosts(10);
    link.cut = true;
    a.stack.addNeighbour('eth0', '10.0.0.2', MAC_B);
    const s = track(a.stack.ping('10.0.0.2', { timeoutUs: 250_000 }));
    runFor(sched, 249_999);
    await flushMicrotasks();
    assert.equal(s.done, false);
    runFor(sched, 1);
    await flushMicrotasks();
    assert.equal((s.error as ErrnoError).errno, ERRNO.ETIMEDOUT);
    assert.equal(link.from('A').length, 1, 'permanent neighbour: no ARP');
  });
});

/** sends one proto-253 datagram whose first payload byte is `mark` */
function send253(h: Host, dst: string, mark: number, len = 16): number {
  const skb = h.skbs.alloc(MAX_HEADER + len, MAX_HEADER)!;
  const at = skbPut(skb, len);
  skb.buf.fill(0, at, at + len);
  skb.buf[at] = mark;
  return h.stack.output(skb, 0, dst.split('.').reduce((a, x) => a * 256 + Number(x), 0), 253);
}
