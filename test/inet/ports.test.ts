import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr, PortTable, bindAddrsOverlap, type PortUser } from '../../src/inet/index.js';

const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const EINVAL = 22;

class U implements PortUser {
  laddr: InetAddr;
  lport = 0;
  reuseAddr = false;
  reusePort = false;
  v6only = false;
  listening = false;
  constructor(readonly sockFamily: 4 | 6, opts: Partial<Pick<U, 'reuseAddr' | 'reusePort' | 'v6only' | 'listening'>> & { owner?: number } = {}) {
    this.laddr = sockFamily === 4 ? InetAddr.ANY4 : InetAddr.ANY6;
    Object.assign(this, opts);
    this.owner = opts.owner ?? 1000;
  }
  owner: number;
}

const A = (s: string): InetAddr => InetAddr.parse(s);

describe('PortTable bind conflicts (Linux inet_csk_bind_conflict)', () => {
  // [first bind, second bind, expect conflict]
  const matrix: [string, Partial<U> & { fam: 4 | 6; addr: string }, Partial<U> & { fam: 4 | 6; addr: string }, boolean][] = [
    ['same v4 address', { fam: 4, addr: '10.0.0.1' }, { fam: 4, addr: '10.0.0.1' }, true],
    ['different v4 addresses', { fam: 4, addr: '10.0.0.1' }, { fam: 4, addr: '10.0.0.2' }, false],
    ['0.0.0.0 then specific v4', { fam: 4, addr: '0.0.0.0' }, { fam: 4, addr: '10.0.0.1' }, true],
    ['specific v4 then 0.0.0.0', { fam: 4, addr: '10.0.0.1' }, { fam: 4, addr: '0.0.0.0' }, true],
    [':: (dual) then 0.0.0.0', { fam: 6, addr: '::' }, { fam: 4, addr: '0.0.0.0' }, true],
    ['0.0.0.0 then :: (dual)', { fam: 4, addr: '0.0.0.0' }, { fam: 6, addr: '::' }, true],
    [':: v6only then 0.0.0.0', { fam: 6, addr: '::', v6only: true }, { fam: 4, addr: '0.0.0.0' }, false],
    ['0.0.0.0 then :: v6only', { fam: 4, addr: '0.0.0.0' }, { fam: 6, addr: '::', v6only: true }, false],
    [':: (dual) then specific v4', { fam: 6, addr: '::' }, { fam: 4, addr: '10.0.0.1' }, true],
    [':: v6only then specific v4', { fam: 6, addr: '::', v6only: true }, { fam: 4, addr: '10.0.0.1' }, false],
    ['0.0.0.0 then specific v6', { fam: 4, addr: '0.0.0.0' }, { fam: 6, addr: '2001:db8::1' }, false],
    ['specific v6 then 0.0.0.0', { fam: 6, addr: '2001:db8::1' }, { fam: 4, addr: '0.0.0.0' }, false],
    [':: then specific v6', { fam: 6, addr: '::', v6only: true }, { fam: 6, addr: '2001:db8::1' }, true],
    [':: v6only then :: v6only', { fam: 6, addr: '::', v6only: true }, { fam: 6, addr: '::', v6only: true }, true],
    ['same v6 address', { fam: 6, addr: '2001:db8::1' }, { fam: 6, addr: '2001:db8::1' }, true],
    ['different v6 addresses', { fam: 6, addr: '2001:db8::1' }, { fam: 6, addr: '2001:db8::2' }, false],
    ['v4-mapped on a v6 socket vs v4 socket', { fam: 6, addr: '::ffff:10.0.0.1' }, { fam: 4, addr: '10.0.0.1' }, true],
    ['SO_REUSEADDR both, not listening', { fam: 4, addr: '10.0.0.1', reuseAddr: true }, { fam: 4, addr: '10.0.0.1', reuseAddr: true }, false],
    ['SO_REUSEADDR both, first listening', { fam: 4, addr: '0.0.0.0', reuseAddr: true, listening: true }, { fam: 4, addr: '0.0.0.0', reuseAddr: true }, true],
    ['SO_REUSEADDR only on the second', { fam: 4, addr: '10.0.0.1' }, { fam: 4, addr: '10.0.0.1', reuseAddr: true }, true],
    ['SO_REUSEADDR only on the first', { fam: 4, addr: '10.0.0.1', reuseAddr: true }, { fam: 4, addr: '10.0.0.1' }, true],
    ['SO_REUSEPORT same owner', { fam: 4, addr: '0.0.0.0', reusePort: true }, { fam: 4, addr: '0.0.0.0', reusePort: true }, false],
    ['SO_REUSEPORT same owner, listening', { fam: 6, addr: '::', reusePort: true, listening: true }, { fam: 6, addr: '::', reusePort: true }, false],
    ['SO_REUSEPORT different owners', { fam: 4, addr: '0.0.0.0', reusePort: true }, { fam: 4, addr: '0.0.0.0', reusePort: true, owner: 7 } as Partial<U> & { fam: 4; addr: string }, true],
    ['SO_REUSEPORT only on one', { fam: 4, addr: '0.0.0.0', reusePort: true }, { fam: 4, addr: '0.0.0.0' }, true],
  ];
  for (const [name, f, s, conflict] of matrix) {
    it(name, () => {
      const t = new PortTable(1);
      const u1 = new U(f.fam, f);
      const u2 = new U(s.fam, s);
      assert.equal(t.bind(u1, A(f.addr), 8080), 8080);
      assert.equal(u1.lport, 8080);
      assert.equal(u1.laddr.toString(), A(f.addr).toString());
      const r = t.bind(u2, A(s.addr), 8080);
      assert.equal(r, conflict ? -EADDRINUSE : 8080);
      assert.equal(u2.lport, conflict ? 0 : 8080, 'a failed bind leaves the user unbound');
      assert.equal(t.users(8080).length, conflict ? 1 : 2);
      // overlap is symmetric
      assert.equal(bindAddrsOverlap(A(f.addr), !!f.v6only, A(s.addr), !!s.v6only), bindAddrsOverlap(A(s.addr), !!s.v6only, A(f.addr), !!f.v6only));
    });
  }

  it('SO_REUSEADDR: many may bind, only one may listen (listenCheck)', () => {
    const t = new PortTable(1);
    const u1 = new U(4, { reuseAddr: true });
    const u2 = new U(4, { reuseAddr: true });
    assert.equal(t.bind(u1, InetAddr.ANY4, 80), 80);
    assert.equal(t.bind(u2, InetAddr.ANY4, 80), 80);
    assert.equal(t.listenCheck(u1), 0);
    u1.listening = true;
    assert.equal(t.listenCheck(u2), -EADDRINUSE);
    // a third without listening may not bind beside the listener
    assert.equal(t.bind(new U(4, { reuseAddr: true }), InetAddr.ANY4, 80), -EADDRINUSE);
  });

  it('unbind frees the port; double bind is EINVAL; resources back to zero', () => {
    const t = new PortTable(1);
    const u = new U(4);
    assert.equal(t.bind(u, InetAddr.ANY4, 80), 80);
    assert.equal(t.bind(u, InetAddr.ANY4, 81), -EINVAL);
    t.unbind(u);
    assert.equal(u.lport, 0);
    assert.equal(t.size, 0);
    assert.equal(t.users(80).length, 0);
    assert.equal(t.bind(new U(4), InetAddr.ANY4, 80), 80);
    assert.equal(t.bind(new U(4), InetAddr.ANY4, 70000), -EINVAL);
  });

  it('inherit keeps a child on its listener port without a check', () => {
    const t = new PortTable(1);
    const l = new U(4, { listening: true });
    t.bind(l, InetAddr.ANY4, 80);
    const c = new U(4);
    c.laddr = A('10.0.0.1');
    t.inherit(c, 80);
    assert.equal(c.lport, 80);
    assert.equal(t.users(80).length, 2);
    t.unbind(l);
    // the child still holds the port: a plain bind conflicts, SO_REUSEADDR on both does not
    assert.equal(t.bind(new U(4), InetAddr.ANY4, 80), -EADDRINUSE);
    c.reuseAddr = true;
    assert.equal(t.bind(new U(4, { reuseAddr: true }), InetAddr.ANY4, 80), 80);
  });

  it('a busy port: thousands of inherited users leave in any order and the list stays exact', () => {
    const t = new PortTable(3);
    const l = new U(4, { listening: true });
    t.bind(l, InetAddr.ANY4, 443);
    const kids: U[] = [];
    for (let i = 0; i < 3000; i++) {
      const c = new U(4);
      c.laddr = A('10.0.0.1');
      t.inherit(c, 443);
      kids.push(c);
    }
    assert.equal(t.users(443).length, 3001);
    // remove every third, then the rest backwards
    for (let i = 0; i < kids.length; i += 3) t.unbind(kids[i]!);
    assert.equal(t.users(443).length, 3001 - 1000);
    const left = new Set(t.users(443));
    for (let i = 0; i < kids.length; i++) assert.equal(left.has(kids[i]!), i % 3 !== 0);
    t.unbind(kids[0]!); // twice: harmless
    for (let i = kids.length - 1; i >= 0; i--) t.unbind(kids[i]!);
    assert.deepEqual([...t.users(443)], [l]);
    t.unbind(l);
    assert.equal(t.size, 0);
  });

  it('port 0 picks a free ephemeral port in range, not the same for every bind, odd first', () => {
    const t = new PortTable(42, 1000, 1099);
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const p = t.bind(new U(4), InetAddr.ANY4, 0);
      assert.ok(p >= 1000 && p <= 1099);
      assert.equal(p & 1, 1, 'bind takes odd ports first');
      assert.ok(!seen.has(p));
      seen.add(p);
    }
    for (let i = 0; i < 50; i++) {
      const p = t.bind(new U(4), InetAddr.ANY4, 0);
      assert.equal(p & 1, 0, 'then even');
      seen.add(p);
    }
    assert.equal(seen.size, 100);
    assert.equal(t.bind(new U(4), InetAddr.ANY4, 0), -EADDRINUSE);
    // a v6only socket does not overlap 0.0.0.0 binds
    assert.ok(t.bind(new U(6, { v6only: true }), InetAddr.ANY6, 0) > 0);
  });
});

describe('PortTable.connectPort (RFC 6056 / Linux __inet_hash_connect)', () => {
  const l = A('10.0.0.1');
  const r = A('10.0.0.2');

  it('hashed start per destination; perturbed, non-linear sequence; even ports first', () => {
    const t = new PortTable(0xdeadbeef);
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(t.connectPort(new U(4), l, r, 80, () => true));
    for (const p of ports) {
      assert.ok(p >= 32768 && p <= 60999);
      assert.equal(p & 1, 0);
    }
    assert.equal(new Set(ports).size, 20);
    const diffs = ports.slice(1).map((p, i) => p - ports[i]!);
    assert.ok(diffs.some((d) => d !== diffs[0]), `not a fixed stride: ${diffs.join(',')}`);
    // other destinations start elsewhere
    const starts = new Set<number>();
    for (let k = 0; k < 16; k++) starts.add(new PortTable(0xdeadbeef).connectPort(new U(4), l, A(`10.0.1.${k}`), 80, () => true));
    assert.ok(starts.size >= 14, `starts spread: ${[...starts].join(',')}`);
    const byPort = new Set<number>();
    for (let k = 0; k < 16; k++) byPort.add(new PortTable(0xdeadbeef).connectPort(new U(4), l, r, 1000 + k, () => true));
    assert.ok(byPort.size >= 14);
    // different secret, different start
    assert.notEqual(new PortTable(1).connectPort(new U(4), l, r, 80, () => true), new PortTable(2).connectPort(new U(4), l, r, 80, () => true));
  });

  it('deterministic given the secret', () => {
    const run = (secret: number): number[] => {
      const t = new PortTable(secret);
      const out: number[] = [];
      for (let i = 0; i < 30; i++) out.push(t.connectPort(new U(i % 2 ? 6 : 4), i % 3 ? l : A('2001:db8::1'), i % 3 ? r : A('2001:db8::2'), 80 + (i % 4), () => true));
      out.push(t.bind(new U(4), InetAddr.ANY4, 0));
      return out;
    };
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  });

  it('skips bind-created ports and taken 4-tuples; shares connect-created ports', () => {
    const t = new PortTable(5, 2000, 2003);
    const b = new U(4);
    assert.equal(t.bind(b, InetAddr.ANY4, 2000), 2000);
    const taken = new Set<number>();
    const c1 = t.connectPort(new U(4), l, r, 80, (p) => !taken.has(p));
    assert.equal(c1, 2002, 'the only other even port');
    taken.add(c1);
    const c2 = t.connectPort(new U(4), l, r, 80, (p) => !taken.has(p));
    assert.ok(c2 === 2001 || c2 === 2003, 'odd ports on the second parity pass');
    taken.add(c2);
    // a connect to another destination may share connect-created ports (4-tuple differs)
    const c3 = t.connectPort(new U(4), l, A('10.0.0.3'), 80, () => true);
    assert.ok(c3 === 2002 || c3 === 2001 || c3 === 2003);
    assert.notEqual(c3, 2000, 'never a bind-created port');
    assert.equal(t.users(c3).length, 2);
  });

  it('exhaustion → -EADDRNOTAVAIL, and ports come back after unbind', () => {
    const t = new PortTable(9, 5000, 5007);
    const us: U[] = [];
    for (let i = 0; i < 8; i++) {
      const u = new U(4);
      const p = t.connectPort(u, l, r, 80, (q) => t.users(q).length === 0);
      assert.ok(p >= 5000 && p <= 5007, `port ${p}`);
      us.push(u);
    }
    assert.equal(new Set(us.map((u) => u.lport)).size, 8);
    const extra = new U(4);
    assert.equal(t.connectPort(extra, l, r, 80, (q) => t.users(q).length === 0), -EADDRNOTAVAIL);
    assert.equal(extra.lport, 0);
    const freed = us[3]!.lport;
    t.unbind(us[3]!);
    assert.equal(t.connectPort(extra, l, r, 80, (q) => t.users(q).length === 0), freed);
    assert.equal(extra.lport, freed);
    for (const u of us) t.unbind(u);
    t.unbind(extra);
    assert.equal(t.size, 0);
  });
});
