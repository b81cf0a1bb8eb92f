/**
 * The congestion-control registry and TCP_CONGESTION, as Linux tcp_cong.c and
 * do_tcp_setsockopt/getsockopt: the available / allowed / default sysctls, registration rules,
 * and the option's errno cases (EINVAL empty, ENOENT unknown, EPERM restricted or locked),
 * its 15-byte / NUL truncation and the getsockopt length rule.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CongestionConfig, TCP_CA_NAME_MAX, availableCongestionControl, congestionNameFromOpt,
  findCongestion, registerCongestion, tcpGetCongestion, tcpSetCongestion, unregisterCongestion,
  type CongestionHolder,
} from '../../../src/tcp/cong/registry.js';
import { RenoOps } from '../../../src/tcp/cong/reno.js';
import { CubicOps } from '../../../src/tcp/cong/cubic.js';
import type { CongestionOps } from '../../../src/tcp/cong/types.js';
import { ERRNO } from '../../../src/uapi/errno.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

class Holder implements CongestionHolder {
  caOps: CongestionOps;
  caSetsockopt = false;
  caDstLocked = false;
  replaced = 0;
  constructor(ops: CongestionOps) { this.caOps = ops; }
  replaceCongestion(ops: CongestionOps): void {
    this.caOps = ops;
    this.replaced++;
  }
}

/** a test algorithm under a given name */
function testAlgo(name: string): () => CongestionOps {
  return () => {
    const r = new RenoOps();
    return Object.assign(Object.create(r) as RenoOps, { name });
  };
}

afterEach(() => {
  for (const n of ['vegasx', 'test1']) unregisterCongestion(n);
});

describe('congestion-control registry', () => {
  it('reno and cubic are built in, in Linux’s order', () => {
    assert.equal(availableCongestionControl(), 'reno cubic');
    assert.ok(findCongestion('reno')!() instanceof RenoOps);
    assert.ok(findCongestion('cubic')!() instanceof CubicOps);
    assert.equal(findCongestion('bbr'), null);
  });

  it('registration: EEXIST for a taken name, EINVAL for an empty, long or blank name', () => {
    assert.equal(registerCongestion('cubic', testAlgo('cubic')), -ERRNO.EEXIST);
    assert.equal(registerCongestion('', testAlgo('')), -ERRNO.EINVAL);
    assert.equal(registerCongestion('a'.repeat(TCP_CA_NAME_MAX), testAlgo('x')), -ERRNO.EINVAL);
    assert.equal(registerCongestion('two words', testAlgo('x')), -ERRNO.EINVAL);
    assert.equal(registerCongestion('test1', testAlgo('test1')), 0);
    assert.equal(availableCongestionControl(), 'reno cubic test1');
    assert.equal(unregisterCongestion('test1'), true);
    assert.equal(unregisterCongestion('test1'), false);
    assert.equal(availableCongestionControl(), 'reno cubic');
  });

  it('default: cubic, settable to a registered name only (ENOENT), each socket its own instance', () => {
    const cfg = new CongestionConfig();
    assert.equal(cfg.default, 'cubic');
    const a = cfg.assign();
    const b = cfg.assign();
    assert.equal(a.name, 'cubic');
    assert.notEqual(a, b);
    assert.equal(cfg.setDefault('bbr'), -ERRNO.ENOENT);
    assert.equal(cfg.default, 'cubic');
    assert.equal(cfg.setDefault('reno'), 0);
    assert.equal(cfg.assign().name, 'reno');
    // configs are per host
    assert.equal(new CongestionConfig().default, 'cubic');
  });

  it('allowed list: "reno cubic"; replaced as a whole; an unknown name changes nothing', () => {
    const cfg = new CongestionConfig();
    assert.equal(cfg.allowedList(), 'reno cubic');
    assert.equal(cfg.setAllowed('reno foo'), -ERRNO.ENOENT);
    assert.equal(cfg.allowedList(), 'reno cubic');
    assert.equal(cfg.setAllowed('cubic'), 0);
    assert.equal(cfg.allowedList(), 'cubic');
    assert.equal(cfg.setAllowed(''), 0);
    assert.equal(cfg.allowedList(), '');
    // setting the default makes it allowed
    assert.equal(cfg.setDefault('reno'), 0);
    assert.equal(cfg.allowedList(), 'reno');
  });

  it('a default whose algorithm was unregistered falls back to Reno', () => {
    assert.equal(registerCongestion('test1', testAlgo('test1')), 0);
    const cfg = new CongestionConfig();
    assert.equal(cfg.setDefault('test1'), 0);
    assert.equal(cfg.assign().name, 'test1');
    unregisterCongestion('test1');
    assert.equal(cfg.assign().name, 'reno');
  });
});

describe('TCP_CONGESTION', () => {
  it('switches algorithm, and marks the choice', () => {
    const cfg = new CongestionConfig();
    const sk = new Holder(cfg.assign());
    assert.equal(tcpSetCongestion(cfg, sk, enc('reno'), false), 0);
    assert.equal(sk.caOps.name, 'reno');
    assert.equal(sk.replaced, 1);
    assert.equal(sk.caSetsockopt, true);
  });

  it('the algorithm already in use: success without a new instance', () => {
    const cfg = new CongestionConfig();
    const ops = cfg.assign();
    const sk = new Holder(ops);
    assert.equal(tcpSetCongestion(cfg, sk, enc('cubic'), false), 0);
    assert.equal(sk.caOps, ops);
    assert.equal(sk.replaced, 0);
    assert.equal(sk.caSetsockopt, true);
  });

  it('errno: EINVAL for an empty option, ENOENT for an unknown name', () => {
    const cfg = new CongestionConfig();
    const sk = new Holder(cfg.assign());
    assert.equal(tcpSetCongestion(cfg, sk, new Uint8Array(0), false), -ERRNO.EINVAL);
    assert.equal(tcpSetCongestion(cfg, sk, enc('bbr'), false), -ERRNO.ENOENT);
    assert.equal(tcpSetCongestion(cfg, sk, enc('\0reno'), false), -ERRNO.ENOENT); // empty name
    assert.equal(sk.replaced, 0);
    assert.equal(sk.caSetsockopt, false);
  });

  it('EPERM for a restricted algorithm without CAP_NET_ADMIN, allowed with it', () => {
    const cfg = new CongestionConfig();
    assert.equal(registerCongestion('vegasx', testAlgo('vegasx')), 0);
    const sk = new Holder(cfg.assign());
    assert.equal(tcpSetCongestion(cfg, sk, enc('vegasx'), false), -ERRNO.EPERM);
    assert.equal(sk.caOps.name, 'cubic');
    assert.equal(tcpSetCongestion(cfg, sk, enc('vegasx'), true), 0);
    assert.equal(sk.caOps.name, 'vegasx');
    assert.equal(cfg.setAllowed('reno cubic vegasx'), 0);
    const sk2 = new Holder(cfg.assign());
    assert.equal(tcpSetCongestion(cfg, sk2, enc('vegasx'), false), 0);
  });

  it('EPERM when the route locked the algorithm', () => {
    const cfg = new CongestionConfig();
    const sk = new Holder(cfg.assign());
    sk.caDstLocked = true;
    assert.equal(tcpSetCongestion(cfg, sk, enc('reno'), true), -ERRNO.EPERM);
    assert.equal(sk.caOps.name, 'cubic');
  });

  it('the name stops at a NUL and at 15 bytes', () => {
    assert.equal(congestionNameFromOpt(enc('reno\0garbage')), 'reno');
    assert.equal(congestionNameFromOpt(enc('abcdefghijklmnopqrst')), 'abcdefghijklmno');
    assert.equal(congestionNameFromOpt(new Uint8Array(0)), -ERRNO.EINVAL);
    const cfg = new CongestionConfig();
    const sk = new Holder(cfg.assign());
    assert.equal(tcpSetCongestion(cfg, sk, enc('reno\0xx'), false), 0);
    assert.equal(sk.caOps.name, 'reno');
    // 'cubic' followed by 11 more letters: cut to 15, unknown
    assert.equal(tcpSetCongestion(cfg, sk, enc('cubicccccccccccc'), false), -ERRNO.ENOENT);
    // exactly 16 bytes with a trailing NUL at the end: name is the first 15
    assert.equal(tcpSetCongestion(cfg, sk, enc('cubic\0\0\0\0\0\0\0\0\0\0\0'), false), 0);
    assert.equal(sk.caOps.name, 'cubic');
  });

  it('getsockopt returns min(len, 16) bytes of the NUL-padded name', () => {
    const sk = new Holder(new CubicOps());
    assert.deepEqual([...tcpGetCongestion(sk, 4)], [...enc('cubi')]);
    const full = tcpGetCongestion(sk, 100);
    assert.equal(full.length, TCP_CA_NAME_MAX);
    assert.deepEqual([...full], [...enc('cubic'), ...new Array<number>(11).fill(0)]);
    assert.equal(tcpGetCongestion(sk, 0).length, 0);
    assert.equal(tcpGetCongestion(sk, -3).length, 0);
  });
});
