/**
 * A SYN flood against a listener while an established transfer runs (issue 6 acceptance):
 * 100 000 SYNs from spoofed sources over 2 virtual seconds at B, whose listener also carries a
 * bulk transfer from A. With SYN cookies the transfer's bytes arrive intact, the request sockets
 * never exceed the backlog, B's packet memory stays bounded, and a legitimate connect made in the
 * middle of the flood completes at once (through a cookie) instead of waiting out SYN retries.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C } from '../../../src/index.js';
import { InetAddr } from '../../../src/inet/index.js';
import { Rng } from '../../../src/rand/index.js';
import { TCP_SYN } from '../../../src/wire/tcp.js';
import { hashedConnections, hashedCount, liveSkbs, pagesInUse, tcpSockOf } from './probe.js';
import { Pair } from './pair.js';

const PORT = 5000;
const BACKLOG = 128;
const SYNS = 100_000;
const STEP_US = 2000;
const PER_STEP = 100; // 100 SYNs per 2 ms: 50 000 per second
const TOTAL = 8 << 20;

function patternAt(off: number): number {
  return (off * 31 + (off >>> 11)) & 0xff;
}

describe('SYN flood with SYN cookies', () => {
  it(`${SYNS} spoofed SYNs in 2 s: the established transfer is intact, requests ≤ backlog, memory bounded, a new connect succeeds`, () => {
    const p = new Pair({ delayUs: 50 });
    p.keepLog = false;
    // B answers spoofed sources through A (which drops what is not for it)
    p.b.ip.addRoute({ dst: 'default', via: '10.0.0.1' });
    const { lfd, cfd, sfd } = p.establish(PORT);
    const lp = tcpSockOf(p.b, lfd);
    assert.equal(lp.backlog, BACKLOG);
    const rng = new Rng(20261202);
    const out = new Uint8Array(64 * 1024);
    const inb = new Uint8Array(256 * 1024);
    let sent = 0;
    let got = 0;
    let bad = -1;
    const pump = (): void => {
      while (sent < TOTAL) {
        const n = Math.min(out.length, TOTAL - sent);
        for (let i = 0; i < n; i++) out[i] = patternAt(sent + i);
        const r = p.a.sys.send(cfd, out.subarray(0, n));
        if (r <= 0) break;
        sent += r;
      }
      for (;;) {
        const r = p.b.sys.recv(sfd, inb);
        if (r <= 0) break;
        for (let i = 0; i < r && bad < 0; i++) if (inb[i] !== patternAt(got + i)) bad = got + i;
        got += r;
      }
    };
    const skb0 = liveSkbs(p.b);
    const pages0 = pagesInUse(p.b);
    let maxHashed = 0;
    let maxSkbs = 0;
    let maxPages = 0;
    let legit = -1;
    let legitAt = -1;
    let legitDone = -1;
    let syns = 0;
    while (syns < SYNS) {
      for (let i = 0; i < PER_STEP; i++, syns++) {
        const src = InetAddr.v4((0xc6120000 + (rng.nextU32() & 0x1ffff)) >>> 0); // 198.18.0.0/15
        p.injectTo('b', { flags: TCP_SYN, seq: rng.nextU32(), sport: 1024 + (rng.nextU32() % 60000), dport: PORT, options: { mss: 1460, sackOk: true, ts: [rng.nextU32(), 0], wscale: 7 } }, src);
      }
      p.run(STEP_US);
      pump();
      if (syns === SYNS / 2) {
        // a legitimate client connects in the middle of the flood
        legit = p.a.sys.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0);
        assert.ok(p.a.sys.connect(legit, p.sockaddr(p.addrB, PORT)) < 0);
        legitAt = p.now;
      }
      if (legit >= 0 && legitDone < 0 && tcpSockOf(p.a, legit).state === 1) legitDone = p.now;
      maxHashed = Math.max(maxHashed, hashedCount(p.b));
      maxSkbs = Math.max(maxSkbs, liveSkbs(p.b) - skb0);
      maxPages = Math.max(maxPages, pagesInUse(p.b) - pages0);
    }
    // finish the transfer
    for (let i = 0; i < 2000 && got < TOTAL; i++) {
      p.run(STEP_US);
      pump();
    }
    assert.equal(bad, -1, `first corrupted byte at ${bad}`);
    assert.equal(got, TOTAL, `received ${got} of ${TOTAL}`);
    const t = p.b.snmp().tcp;
    // the first SYNs fill the SYN queue; the rest are answered with cookies
    assert.ok(t.syncookiesSent >= SYNS - BACKLOG, `cookies sent ${t.syncookiesSent}`);
    assert.ok(maxHashed <= BACKLOG + 3, `request sockets and connections on B peaked at ${maxHashed}: ${JSON.stringify([...hashedConnections(p.b)])}`);
    assert.ok(maxSkbs < 2000, `B's live skbs grew by up to ${maxSkbs}`);
    assert.ok(maxPages < 4096, `B's host pages grew by up to ${maxPages}`);
    // the legitimate connect completed promptly (one RTT through a cookie, not 63 s of SYN retries)
    assert.ok(legitDone > 0 && legitDone - legitAt < 10_000, `legitimate connect took ${legitDone - legitAt} µs`);
    assert.ok(t.syncookiesRecv >= 1);
    assert.ok(p.b.sys.accept4(lfd, null, C.SOCK_NONBLOCK) >= 0, 'the legitimate connection is accepted');
    // the half-open requests expire (SYN-ACK retries) and nothing is left but the two connections
    p.run(120_000_000);
    assert.equal(hashedCount(p.b), 2, JSON.stringify([...hashedConnections(p.b)]));
    p.close();
  });

  it('control: with tcp_syncookies = 0 a flood of 5000 SYNs in 100 ms keeps a legitimate connect out', () => {
    const p = new Pair({ delayUs: 50 });
    p.keepLog = false;
    p.b.ip.addRoute({ dst: 'default', via: '10.0.0.1' });
    p.b.kernel.tcp.sysctl.tcp_syncookies = 0;
    const { lfd } = p.establish(PORT);
    const rng = new Rng(7);
    let legit = -1;
    for (let step = 0; step < 50; step++) {
      for (let i = 0; i < 100; i++) {
        const src = InetAddr.v4((0xc6120000 + (rng.nextU32() & 0x1ffff)) >>> 0);
        p.injectTo('b', { flags: TCP_SYN, seq: rng.nextU32(), sport: 1024 + (rng.nextU32() % 60000), dport: PORT, options: { mss: 1460 } }, src);
      }
      p.run(STEP_US);
      if (step === 25) {
        legit = p.a.sys.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_NONBLOCK, 0);
        assert.ok(p.a.sys.connect(legit, p.sockaddr(p.addrB, PORT)) < 0);
      }
    }
    p.run(1_000_000);
    assert.notEqual(tcpSockOf(p.a, legit).state, 1, 'not established after 1 s');
    assert.equal(p.b.snmp().tcp.syncookiesSent, 0);
    assert.ok(p.b.snmp().tcp.listenDrops > 4000);
    assert.ok(hashedCount(p.b) <= BACKLOG + 1);
    void lfd;
    p.close();
  });
});
