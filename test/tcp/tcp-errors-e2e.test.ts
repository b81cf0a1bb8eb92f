/**
 * ICMP / neighbour errors reaching TCP through the real stack (NIC model, ARP, IPv4 / IPv6).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, ErrnoError } from '../../src/index.js';
import { makePair } from '../e2e/helpers.js';

describe('TCP errors through the stack', () => {
  it('connect() to an absent on-subnet host fails with EHOSTUNREACH after ~3 s (ARP gave up)', async () => {
    const p = makePair();
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    const t0 = p.net.now;
    await assert.rejects(cs.connect('10.0.0.9', 80), (e: unknown) => e instanceof ErrnoError && e.code === 'EHOSTUNREACH');
    const dt = p.net.now - t0;
    assert.ok(dt >= 2_500_000 && dt <= 4_000_000, `failed after ${dt} µs, not ~3 s`);
    assert.equal(p.a.kernel.tcp.connectionCount, 0);
    assert.equal(p.a.kernel.tcp.ports.size, 0);
    p.net.close();
  });

  it('IPv6: connect() to an absent on-link neighbour fails with EHOSTUNREACH after ~3 s (NDP gave up)', async () => {
    const p = makePair();
    p.a.ip.addAddress('eth0', '2001:db8::1/64');
    p.b.ip.addAddress('eth0', '2001:db8::2/64');
    await p.net.sleep(3_000_000); // duplicate address detection
    const cs = p.a.socket(C.AF_INET6, C.SOCK_STREAM);
    const t0 = p.net.now;
    await assert.rejects(cs.connect('2001:db8::99', 80), (e: unknown) => e instanceof ErrnoError && e.code === 'EHOSTUNREACH');
    const dt = p.net.now - t0;
    assert.ok(dt >= 2_500_000 && dt <= 4_000_000, `failed after ${dt} µs, not ~3 s`);
    assert.equal(p.a.kernel.tcp.connectionCount, 0);
    p.net.close();
  });

  it('IPv6: a tentative source address (DAD running) makes connect() fail with EADDRNOTAVAIL', async () => {
    const p = makePair();
    p.a.ip.addAddress('eth0', '2001:db8::1/64');
    const cs = p.a.socket(C.AF_INET6, C.SOCK_STREAM);
    await assert.rejects(cs.connect('2001:db8::2', 80), (e: unknown) => e instanceof ErrnoError && e.code === 'EADDRNOTAVAIL');
    p.net.close();
  });

  it('connect() to a closed port is refused: RST, ECONNREFUSED, nothing left behind', async () => {
    const p = makePair();
    const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
    await assert.rejects(cs.connect('10.0.0.2', 81), (e: unknown) => e instanceof ErrnoError && e.code === 'ECONNREFUSED');
    assert.equal(p.a.kernel.tcp.connectionCount + p.b.kernel.tcp.connectionCount, 0);
    assert.equal(p.b.kernel.tcp.stats.noPort, 1);
    p.net.close();
  });
});
