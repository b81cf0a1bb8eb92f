/**
 * src/tcp/syncookies.ts: Linux-format SYN cookies: round trip per MSS table entry (IPv4 and
 * IPv6), expiry after MAX_SYNCOOKIE_AGE minute counters, forged and misdirected cookies refused,
 * the timestamp encoding of wscale / SACK / ECN, and the listener's recent-overflow window.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InetAddr } from '../../src/inet/index.js';
import { Rng } from '../../src/rand/index.js';
import {
  COOKIEBITS, CookieTsOptions, MAX_SYNCOOKIE_AGE, MSSTAB_V4, MSSTAB_V6, SynCookies, TCP_SYNCOOKIE_PERIOD,
  TCP_SYNCOOKIE_VALID, cookieInitTimestamp, cookieTime, cookieTimestampDecode, mssIndex, synqNoRecentOverflow,
  synqOverflow,
} from '../../src/tcp/syncookies.js';

const C = InetAddr.parse('198.51.100.7');
const S = InetAddr.parse('10.0.0.2');
const C6 = InetAddr.parse('2001:db8::7');
const S6 = InetAddr.parse('fd00::2');
const MIN = TCP_SYNCOOKIE_PERIOD;
const ON = { tcp_timestamps: true, tcp_sack: true, tcp_window_scaling: true };

describe('SYN cookie constants as Linux', () => {
  it('tables, age, period', () => {
    assert.deepEqual(MSSTAB_V4, [536, 1300, 1440, 1460]);
    assert.deepEqual(MSSTAB_V6, [1220, 1420, 1440, 8940]);
    assert.equal(MAX_SYNCOOKIE_AGE, 2);
    assert.equal(MIN, 60_000_000);
    assert.equal(TCP_SYNCOOKIE_VALID, 120_000_000);
    assert.equal(COOKIEBITS, 24);
  });

  it('the MSS is rounded down to a table entry (below the smallest: the smallest)', () => {
    assert.equal(MSSTAB_V4[mssIndex(MSSTAB_V4, 1460)], 1460);
    assert.equal(MSSTAB_V4[mssIndex(MSSTAB_V4, 65535)], 1460);
    assert.equal(MSSTAB_V4[mssIndex(MSSTAB_V4, 1459)], 1440);
    assert.equal(MSSTAB_V4[mssIndex(MSSTAB_V4, 1300)], 1300);
    assert.equal(MSSTAB_V4[mssIndex(MSSTAB_V4, 1000)], 536);
    assert.equal(MSSTAB_V4[mssIndex(MSSTAB_V4, 100)], 536);
    assert.equal(MSSTAB_V6[mssIndex(MSSTAB_V6, 1440)], 1440);
    assert.equal(MSSTAB_V6[mssIndex(MSSTAB_V6, 9000)], 8940);
    assert.equal(MSSTAB_V6[mssIndex(MSSTAB_V6, 1280)], 1220);
  });

  it('the counter ticks once a minute', () => {
    assert.equal(cookieTime(0), 0);
    assert.equal(cookieTime(MIN - 1), 0);
    assert.equal(cookieTime(MIN), 1);
    assert.equal(cookieTime(300 * MIN + 5), 300);
  });
});

describe('SYN cookie round trip', () => {
  for (const [name, c, s, tab] of [['IPv4', C, S, MSSTAB_V4], ['IPv6', C6, S6, MSSTAB_V6]] as const) {
    it(`${name}: the ACK of the cookie SYN-ACK gives back the encoded MSS`, () => {
      const sc = new SynCookies(new Rng(1));
      for (const mss of [...tab, 100, 1000, 1459, 9000, 65535]) {
        const isn = 0xfffffff0; // the client's ISN wraps when +1
        const now = 17 * MIN + 123;
        const cookie = sc.initSequence(c, s, 40000, 80, isn, mss, now);
        const enc = sc.mss;
        assert.equal(enc, tab[mssIndex(tab, mss)]);
        // the client's ACK: seq = isn + 1, ack = cookie + 1
        assert.equal(sc.check(c, s, 40000, 80, (isn + 1) >>> 0, (cookie + 1) >>> 0, now), enc, `mss ${mss}`);
      }
    });
  }

  it('valid while the counter is less than MAX_SYNCOOKIE_AGE ahead, refused after', () => {
    const sc = new SynCookies(new Rng(2));
    const t0 = 100 * MIN + MIN - 1; // the last µs of a counter value
    const cookie = sc.initSequence(C, S, 1234, 80, 1000, 1460, t0);
    const ack = (cookie + 1) >>> 0;
    assert.equal(sc.check(C, S, 1234, 80, 1001, ack, t0), 1460);
    assert.equal(sc.check(C, S, 1234, 80, 1001, ack, t0 + 1), 1460, 'next counter value: still valid');
    assert.equal(sc.check(C, S, 1234, 80, 1001, ack, t0 + MIN), 1460);
    assert.equal(sc.check(C, S, 1234, 80, 1001, ack, t0 + MIN + 1), 0, 'two counter values later: expired');
    assert.equal(sc.check(C, S, 1234, 80, 1001, ack, t0 + 100 * MIN), 0);
    // a cookie from the future (counter behind it) is refused too
    assert.equal(sc.check(C, S, 1234, 80, 1001, ack, t0 - MIN), 0);
  });

  it('the counter survives the 8-bit wrap of its encoded copy', () => {
    const sc = new SynCookies(new Rng(3));
    const t = 255 * MIN + 5;
    const cookie = sc.initSequence(C, S, 1, 2, 77, 1300, t);
    assert.equal(sc.check(C, S, 1, 2, 78, (cookie + 1) >>> 0, t + MIN), 1300, 'counter 255 → 256');
  });

  it('forged cookies, other flows, other client ISNs, another host\'s secrets: refused', () => {
    const sc = new SynCookies(new Rng(4));
    const now = 5 * MIN;
    const cookie = sc.initSequence(C, S, 5555, 80, 42, 1460, now);
    const ack = (cookie + 1) >>> 0;
    assert.equal(sc.check(C, S, 5555, 80, 43, ack, now), 1460);
    assert.equal(sc.check(InetAddr.parse('198.51.100.8'), S, 5555, 80, 43, ack, now), 0, 'other source');
    assert.equal(sc.check(C, InetAddr.parse('10.0.0.3'), 5555, 80, 43, ack, now), 0, 'other destination');
    assert.equal(sc.check(C, S, 5556, 80, 43, ack, now), 0, 'other source port');
    assert.equal(sc.check(C, S, 5555, 81, 43, ack, now), 0, 'other port');
    // the client ISN enters the cookie linearly (as in Linux): a seq 1 higher reads as the next lower
    // MSS index, one from the smallest entry underflows the index; a seq far off moves the counter
    assert.equal(sc.check(C, S, 5555, 80, 44, ack, now), 1440, 'seq + 1: index − 1 (Linux has the same property)');
    assert.equal(sc.check(C, S, 5555, 80, 43 + 4, ack, now), 0, 'seq + 4: index underflows');
    assert.equal(sc.check(C, S, 5555, 80, 43 + 5 * (1 << 24), ack, now), 0, 'other client ISN');
    assert.equal(new SynCookies(new Rng(5)).check(C, S, 5555, 80, 43, ack, now), 0, 'another host');
    let accepted = 0;
    for (let d = 1; d <= 2000; d++) if (sc.check(C, S, 5555, 80, 43, (ack + d * 7919) >>> 0, now) !== 0) accepted++;
    // a random guess passes with probability about 2 * 4 / 2^24 per try
    assert.equal(accepted, 0, 'perturbed cookies');
  });

  it('property: a genuine cookie ACK always decodes to the encoded MSS; random ACKs almost never', () => {
    const sc = new SynCookies(new Rng(6));
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), fc.nat(), fc.integer({ min: 0, max: 1e9 }),
      fc.integer({ min: 0, max: 0xffff }), fc.boolean(),
      (sport, dport, isnRaw, tMs, mss, v6) => {
        const [c, s] = v6 ? [C6, S6] : [C, S];
        const isn = isnRaw >>> 0;
        const now = tMs * 1000;
        const k = sc.initSequence(c, s, sport, dport, isn, mss, now);
        return sc.check(c, s, sport, dport, (isn + 1) >>> 0, (k + 1) >>> 0, now) === sc.mss && sc.mss > 0;
      },
    ), { seed: 20261202, numRuns: 500 });
    // count false accepts over many random guesses: expected ≈ 0 (2^-21 each)
    const rng = new Rng(9);
    let bad = 0;
    for (let i = 0; i < 20_000; i++) if (sc.check(C, S, rng.nextU32() & 0xffff, 80, rng.nextU32(), rng.nextU32(), 3 * MIN) !== 0) bad++;
    assert.ok(bad <= 1, `false accepts ${bad}`);
  });
});

describe('cookie timestamps (cookie_init_timestamp / cookie_timestamp_decode)', () => {
  it('the low 6 bits carry wscale, SACK and ECN, and TSval never exceeds now', () => {
    const now = 1_000_003;
    const ts = cookieInitTimestamp(now, 7, true, false);
    assert.ok(ts <= now && now - ts < 64);
    assert.equal(ts & 0x3f, 7 | 16);
    const out = new CookieTsOptions();
    assert.equal(cookieTimestampDecode(true, ts, out, ON), true);
    assert.deepEqual({ ...out }, { sawTstamp: true, sackOk: true, wscaleOk: true, sndWscale: 7, ecnOk: false });
  });

  it('no wscale in the SYN → 0xf → decoded as no window scaling; ECN bit', () => {
    const ts = cookieInitTimestamp(64 * 1000 + 2, -1, false, true);
    assert.equal(ts & 0x3f, 0xf | 32);
    assert.ok(ts <= 64 * 1000 + 2);
    const out = new CookieTsOptions();
    assert.equal(cookieTimestampDecode(true, ts, out, ON), true);
    assert.equal(out.wscaleOk, false);
    assert.equal(out.sackOk, false);
    assert.equal(out.ecnOk, true);
  });

  it('when the low bits would put TSval above now, one 64 ms step back', () => {
    const now = 128 + 3; // low bits of now (3) below the options (0x1f)
    const ts = cookieInitTimestamp(now, 15 & 0xe, true, false);
    assert.equal(ts, 64 + (14 | 16));
    assert.ok(ts <= now);
  });

  it('an ACK without timestamps: no options, accepted; options the host turned off: refused', () => {
    const out = new CookieTsOptions();
    assert.equal(cookieTimestampDecode(false, 0, out, ON), true);
    assert.deepEqual({ ...out }, { sawTstamp: false, sackOk: false, wscaleOk: false, sndWscale: 0, ecnOk: false });
    const ts = cookieInitTimestamp(10_000, 3, true, false);
    assert.equal(cookieTimestampDecode(true, ts, out, { ...ON, tcp_timestamps: false }), false);
    assert.equal(cookieTimestampDecode(true, ts, out, { ...ON, tcp_sack: false }), false);
    assert.equal(cookieTimestampDecode(true, ts, out, { ...ON, tcp_window_scaling: false }), false);
  });
});

describe('the listener\'s recent-overflow window (tcp_synq_overflow / tcp_synq_no_recent_overflow)', () => {
  it('cookie ACKs are looked at only within [overflow − 1 s, overflow + 120 s]', () => {
    assert.equal(synqNoRecentOverflow(-1, 5), true, 'never overflowed');
    const t = 1_000_000_000;
    assert.equal(synqNoRecentOverflow(t, t), false);
    assert.equal(synqNoRecentOverflow(t, t + TCP_SYNCOOKIE_VALID), false);
    assert.equal(synqNoRecentOverflow(t, t + TCP_SYNCOOKIE_VALID + 1), true);
    assert.equal(synqNoRecentOverflow(t, t - 1_000_000), false);
    assert.equal(synqNoRecentOverflow(t, t - 1_000_001), true);
  });

  it('the stamp moves at most once a second', () => {
    assert.equal(synqOverflow(-1, 7), 7);
    assert.equal(synqOverflow(100, 100 + 999_999), 100);
    assert.equal(synqOverflow(100, 100 + 1_000_000), 100);
    assert.equal(synqOverflow(100, 100 + 1_000_001), 1_000_101);
    assert.equal(synqOverflow(100, 50), 50, 'time before the stamp (wrap): restamped');
  });
});
