// --link / --addr parsing: specs for good input, one-line usage errors for bad input, and link
// creation for VXLAN (a real bound socket on loopback).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UsageError } from '../../src/cli/args.js';
import { createLink, parseAddrSpec, parseEndpoint, parseLinkSpec } from '../../src/cli/link-spec.js';
import { VxlanLink } from '../../src/index.js';

test('link-spec: vxlan with IPv4 and IPv6 endpoints, default ports, mtu', () => {
  assert.deepEqual(parseLinkSpec('vxlan:local=127.0.0.1:4790,remote=127.0.0.1:4789,vni=42'), {
    kind: 'vxlan', local: { address: '127.0.0.1', port: 4790 }, remote: { address: '127.0.0.1', port: 4789 }, vni: 42,
  });
  assert.deepEqual(parseLinkSpec('vxlan:remote=[fd00::2]:5000,local=[::1],vni=16777215,mtu=9000'), {
    kind: 'vxlan', local: { address: '::1', port: 4789 }, remote: { address: 'fd00::2', port: 5000 }, vni: 16777215, mtu: 9000,
  });
  assert.deepEqual(parseLinkSpec('vxlan:local=::1,remote=fe80::1%eth0,vni=0'), {
    kind: 'vxlan', local: { address: '::1', port: 4789 }, remote: { address: 'fe80::1%eth0', port: 4789 }, vni: 0,
  });
  assert.deepEqual(parseEndpoint('10.0.0.1', 'x'), { address: '10.0.0.1', port: 4789 });
});

test('link-spec: tap with defaults and options', () => {
  assert.deepEqual(parseLinkSpec('tap:dmt0'), { kind: 'tap', name: 'dmt0', queues: 1, vnetHdr: true });
  assert.deepEqual(parseLinkSpec('tap:tap%d,queues=4,vnet=off,mtu=9000'), { kind: 'tap', name: 'tap%d', queues: 4, vnetHdr: false, mtu: 9000 });
  assert.deepEqual(parseLinkSpec('tap:abcdefghijklmno'), { kind: 'tap', name: 'abcdefghijklmno', queues: 1, vnetHdr: true });
});

test('link-spec: --addr, IPv4 and IPv6, canonical', () => {
  assert.deepEqual(parseAddrSpec('10.42.0.2/24'), { cidr: '10.42.0.2/24', address: '10.42.0.2', prefixLen: 24, family: 4 });
  assert.deepEqual(parseAddrSpec('FD42:0:0::2/64'), { cidr: 'fd42::2/64', address: 'fd42::2', prefixLen: 64, family: 6 });
  assert.equal(parseAddrSpec('0.0.0.0/0').prefixLen, 0);
  assert.equal(parseAddrSpec('::1/128').prefixLen, 128);
});

test('link-spec: every bad spec is one UsageError line naming the option', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /unknown link kind ''/],
    ['ether:x', /unknown link kind 'ether'/],
    ['vxlan', /vxlan needs local=/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1', /needs vni=/],
    ['vxlan:local=127.0.0.1,vni=1', /needs remote=/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1,vni=16777216', /vni: expected an integer in 0\.\.16777215/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1,vni=-1', /vni: expected an integer/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1,vni=0x10', /vni: expected an integer/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1,vni=1,vni=2', /'vni' given twice/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1,vni=1,ttl=3', /unknown key 'ttl'/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1,vni=1,mtu=67', /mtu: expected an integer in 68\.\.65485/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1,vni=', /'vni' has no value/],
    ['vxlan:local=127.0.0.1,remote=127.0.0.1,vni', /expected key=value/],
    ['vxlan:local=127.0.0.1:0,remote=127.0.0.1,vni=1', /local port: expected an integer in 1\.\.65535/],
    ['vxlan:local=127.0.0.1:65536,remote=127.0.0.1,vni=1', /local port/],
    ['vxlan:local=127.0.0.1:,remote=127.0.0.1,vni=1', /local port/],
    ['vxlan:local=localhost:1,remote=127.0.0.1,vni=1', /local: not an IP address: 'localhost'/],
    ['vxlan:local=1.2.3.256,remote=127.0.0.1,vni=1', /not an IP address/],
    ['vxlan:local=[::1,remote=[::1],vni=1', /missing '\]'/],
    ['vxlan:local=[::1]4789,remote=[::1],vni=1', /expected ':PORT' after '\]'/],
    ['vxlan:local=[1.2.3.4]:1,remote=[::1],vni=1', /not an IPv6 address/],
    ['vxlan:local=127.0.0.1,remote=[::1],vni=1', /must both be IPv4 or both IPv6/],
    ['tap:', /tap needs a device name/],
    ['tap', /tap needs a device name/],
    ['tap:queues=2', /tap needs a device name/],
    ['tap:abcdefghijklmnop', /bad interface name/],
    ['tap:a/b', /bad interface name/],
    ['tap:..', /bad interface name/],
    ['tap:t0,queues=0', /queues: expected an integer in 1\.\.256/],
    ['tap:t0,queues=257', /queues/],
    ['tap:t0,vnet=yes', /vnet: expected on or off/],
    ['tap:t0,speed=1', /unknown key 'speed'/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(() => parseLinkSpec(spec), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${spec}: a UsageError`);
      assert.match(e.message, /^--link/, `${spec}: names the option`);
      assert.match(e.message, re, spec);
      assert.ok(!e.message.includes('\n'), `${spec}: one line`);
      return true;
    });
  }
  const badAddr: Array<[string, RegExp]> = [
    ['10.0.0.1', /expected ADDRESS\/PREFIXLEN/],
    ['10.0.0.1/33', /prefix length: expected an integer in 0\.\.32/],
    ['fd00::1/129', /0\.\.128/],
    ['10.0.0/24', /not an IP address/],
    ['10.0.0.1/', /prefix length/],
    ['10.0.0.1/2a', /prefix length/],
    ['/24', /not an IP address/],
  ];
  for (const [spec, re] of badAddr) {
    assert.throws(() => parseAddrSpec(spec), (e: unknown) => e instanceof UsageError && /^--addr/.test(e.message) && re.test(e.message) && !e.message.includes('\n'), spec);
  }
});

test('link-spec: createLink opens a VXLAN link bound where the spec says', async () => {
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const port = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const link = await createLink(parseLinkSpec(`vxlan:local=127.0.0.1:${port},remote=127.0.0.1:4789,vni=9,mtu=9000`));
  try {
    assert.ok(link instanceof VxlanLink);
    assert.equal(link.kind, 'vxlan');
    assert.equal(link.mtu, 9000);
    assert.equal((link as VxlanLink).localPort, port);
    assert.equal((link as VxlanLink).vni, 9);
    // the port is taken: a second link on it fails with the socket's error
    await assert.rejects(createLink(parseLinkSpec(`vxlan:local=127.0.0.1:${port},remote=127.0.0.1,vni=9`)), /EADDRINUSE/);
  } finally {
    await link.close();
  }
});
