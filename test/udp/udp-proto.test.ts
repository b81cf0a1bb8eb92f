import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InetAddr, addrToString } from '../../src/inet/index.js';
import { ERRNO } from '../../src/uapi/index.js';
import {
  EPOLLERR, EPOLLIN, EPOLLOUT, EPOLLRDHUP, MSG_PEEK, MSG_TRUNC, MSG_OOB, MSG_ERRQUEUE, SHUT_RD, SHUT_WR,
} from '../../src/uapi/constants.js';
import {
  UDP_MAX_PAYLOAD_V4, UDP_MAX_PAYLOAD_V6, UdpProto, UdpRecvInfo,
  type UdpSock, type UdpSockOwner,
} from '../../src/udp/index.js';
import { MemSpace } from '../../src/mem/index.js';
import { SkbCache } from '../../src/skb/index.js';
import { FakeIp, FakeNet } from './fake-ip.js';

const A4 = '10.0.0.1';
const B4 = '10.0.0.2';
const A6 = '2001:db8::1';
const B6 = '2001:db8::2';

function setup(mtu = 1500) {
  const net = new FakeNet();
  const ipa = new FakeIp(net, [A4, A6], mtu);
  const ipb = new FakeIp(net, [B4, B6], mtu);
  const a = new UdpProto(ipa, ipa.skbs, 0x1234);
  const b = new UdpProto(ipb, ipb.skbs, 0x5678);
  return { net, ipa, ipb, a, b };
}

const ip = (s: string): InetAddr => InetAddr.parse(s);

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** receives one datagram: [payload, info] or the errno */
function recv(p: UdpProto, us: UdpSock, size = 70000, flags = 0): { data: Uint8Array; info: UdpRecvInfo; r: number } {
  const buf = new Uint8Array(size);
  const info = new UdpRecvInfo();
  const r = p.userRecvmsg(us, buf, 0, size, flags, info);
  return { data: buf.subarray(0, Math.max(0, Math.min(r, size))), info, r };
}

function bound(p: UdpProto, family: 4 | 6, addr: string, port: number, setup?: (us: UdpSock) => void): UdpSock {
  const us = p.socket(family);
  setup?.(us);
  assert.equal(p.userBind(us, ip(addr), port), 0);
  return us;
}

describe('UDP over a fake IP layer', () => {
  it('round trip over IPv4: payload, source address and port, MIB', () => {
    const { net, a, b, ipa, ipb } = setup();
    const rx = bound(b, 4, '0.0.0.0', 5000);
    const tx = a.socket(4);
    const msg = bytes(1000);
    assert.equal(a.userSendmsg(tx, msg, 0, msg.length, ip(B4), 5000, 0), 1000);
    assert.ok(tx.lport >= 32768 && tx.lport <= 60999, 'autobound to an ephemeral port');
    assert.equal(net.flush(), 1);
    const { data, info, r } = recv(b, rx);
    assert.equal(r, 1000);
    assert.deepEqual(data, msg);
    assert.equal(addrToString(info.addr), A4);
    assert.equal(info.port, tx.lport);
    assert.equal(info.flags, 0);
    assert.equal(a.mib.outDatagrams, 1);
    assert.equal(b.mib.inDatagrams, 1);
    assert.equal(recv(b, rx).r, -ERRNO.EAGAIN);
    b.userClose(rx);
    a.userClose(tx);
    assert.equal(ipa.skbs.live, 0);
    assert.equal(ipb.skbs.live, 0);
    assert.ok(ipb.mem.host.inUse <= 1, 'no page held but the skb cache page');
  });

  it('wire format: header, length and a checksum that verifies (0 sent as 0xffff)', () => {
    const { net, a } = setup();
    const tx = bound(a, 4, A4, 4000);
    const msg = bytes(33);
    a.userSendmsg(tx, msg, 0, msg.length, ip(B4), 53, 0);
    const s = net.queue[0]!;
    const dv = new DataView(s.bytes.buffer);
    assert.equal(dv.getUint16(0), 4000);
    assert.equal(dv.getUint16(2), 53);
    assert.equal(dv.getUint16(4), 41);
    assert.notEqual(dv.getUint16(6), 0);
    // one's complement over pseudo header + datagram must be 0xffff
    let sum = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 41;
    for (let i = 0; i < 41; i += 2) sum += (s.bytes[i]! << 8) | (i + 1 < 41 ? s.bytes[i + 1]! : 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    assert.equal(sum, 0xffff);
    assert.deepEqual(s.bytes.subarray(8), msg);
    assert.equal(s.opts?.df, true, 'DF on a datagram that fits the path MTU');
  });

  it('a checksum that computes to 0 is sent as 0xffff', () => {
    const { net, a } = setup();
    const tx = bound(a, 4, A4, 4000);
    // choose two payload bytes so that the sum of everything is 0xffff before complementing
    const base = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 10 + 4000 + 53 + 10;
    let s = base;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    const need = 0xffff - s; // payload word making the folded sum 0xffff
    const msg = new Uint8Array([need >>> 8, need & 0xff]);
    a.userSendmsg(tx, msg, 0, 2, ip(B4), 53, 0);
    const dv = new DataView(net.queue[0]!.bytes.buffer);
    assert.equal(dv.getUint16(6), 0xffff);
  });

  it('round trip over IPv6, and a dual-stack :: socket gets IPv4 as v4-mapped', () => {
    const { net, a, b } = setup();
    const rx = bound(b, 6, '::', 6000);
    const tx6 = a.socket(6);
    const tx4 = a.socket(4);
    const m6 = bytes(1400, 6);
    const m4 = bytes(300, 4);
    assert.equal(a.userSendmsg(tx6, m6, 0, m6.length, ip(B6), 6000, 0), m6.length);
    assert.equal(a.userSendmsg(tx4, m4, 0, m4.length, ip(B4), 6000, 0), m4.length);
    net.flush();
    const r1 = recv(b, rx);
    assert.deepEqual(r1.data, m6);
    assert.equal(addrToString(r1.info.addr), A6);
    assert.equal(r1.info.port, tx6.lport);
    const r2 = recv(b, rx);
    assert.deepEqual(r2.data, m4);
    assert.equal(addrToString(r2.info.addr), A4, 'an IPv4 source (::ffff:10.0.0.1 in a sockaddr_in6)');
    assert.equal(b.mib.inDatagrams, 2);
  });

  it('a v6only :: socket does not get IPv4; the IPv4 datagram draws port unreachable', () => {
    const { net, a, b, ipb } = setup();
    const rx = bound(b, 6, '::', 6001, (us) => { us.v6only = true; });
    const tx = a.socket(4);
    a.userSendmsg(tx, bytes(10), 0, 10, ip(B4), 6001, 0);
    net.flush();
    assert.equal(recv(b, rx).r, -ERRNO.EAGAIN);
    assert.equal(b.mib.noPorts, 1);
    assert.equal(ipb.portUnreachSent, 1);
    // an IPv4 socket can share the port with a v6only one
    const rx4 = bound(b, 4, '0.0.0.0', 6001);
    a.userSendmsg(tx, bytes(10), 0, 10, ip(B4), 6001, 0);
    net.flush();
    assert.equal(recv(b, rx4).r, 10);
  });

  it('IPv6 socket bound to a specific address becomes v6only; v4-mapped binding is IPv4 only', () => {
    const { b } = setup();
    const s1 = bound(b, 6, B6, 7000);
    assert.equal(s1.v6only, true);
    const s2 = bound(b, 6, `::ffff:${B4}`, 7000);
    assert.equal(s2.laddr.family, 4);
    const s3 = b.socket(6);
    s3.v6only = true;
    assert.equal(b.userBind(s3, ip(`::ffff:${B4}`), 7001), -ERRNO.EINVAL);
    assert.equal(b.userBind(b.socket(6), ip('2001:db8::99'), 7002), -ERRNO.EADDRNOTAVAIL);
    assert.equal(b.userBind(b.socket(4), ip('10.9.9.9'), 7002), -ERRNO.EADDRNOTAVAIL);
    assert.equal(b.userBind(b.socket(4), ip(B6), 7002), -ERRNO.EAFNOSUPPORT);
    assert.equal(b.userBind(s1, ip(B6), 7003), -ERRNO.EINVAL, 'already bound');
  });

  it('demux: an exact address beats the wildcard; a connected socket beats both', () => {
    const { net, a, b } = setup();
    const wild = bound(b, 4, '0.0.0.0', 8000, (us) => { us.reuseAddr = true; });
    const exact = bound(b, 4, B4, 8000, (us) => { us.reuseAddr = true; });
    const tx = bound(a, 4, A4, 1111);
    const tx2 = bound(a, 4, A4, 2222);
    a.userSendmsg(tx, bytes(5), 0, 5, ip(B4), 8000, 0);
    net.flush();
    assert.equal(recv(b, exact).r, 5);
    assert.equal(recv(b, wild).r, -ERRNO.EAGAIN);
    const conn = bound(b, 4, '0.0.0.0', 8000, (us) => { us.reuseAddr = true; });
    assert.equal(b.userConnect(conn, ip(A4), 1111), 0);
    assert.equal(addrToString(conn.laddr), B4, 'connect takes the route source as the bound address');
    a.userSendmsg(tx, bytes(6), 0, 6, ip(B4), 8000, 0);
    a.userSendmsg(tx2, bytes(7), 0, 7, ip(B4), 8000, 0);
    net.flush();
    assert.equal(recv(b, conn).r, 6, 'the connected socket takes its peer');
    assert.equal(recv(b, exact).r, 7, 'other peers still go to the exact binding');
    assert.equal(recv(b, wild).r, -ERRNO.EAGAIN);
  });

  it('SO_REUSEADDR: two sockets on one address share it; unicast goes to the newer one (Linux)', () => {
    const { net, a, b } = setup();
    const older = bound(b, 4, '0.0.0.0', 8100, (us) => { us.reuseAddr = true; });
    const newer = bound(b, 4, '0.0.0.0', 8100, (us) => { us.reuseAddr = true; });
    assert.equal(b.userBind(b.socket(4), ip('0.0.0.0'), 8100), -ERRNO.EADDRINUSE, 'both must set it');
    a.userSendmsg(a.socket(4), bytes(3), 0, 3, ip(B4), 8100, 0);
    net.flush();
    assert.equal(recv(b, newer).r, 3);
    assert.equal(recv(b, older).r, -ERRNO.EAGAIN);
    b.userClose(newer);
    a.userSendmsg(a.socket(4), bytes(3), 0, 3, ip(B4), 8100, 0);
    net.flush();
    assert.equal(recv(b, older).r, 3, 'the remaining one takes over');
  });

  it('SO_REUSEPORT: flows spread over the group, one flow sticks to one socket', () => {
    const { net, a, b } = setup();
    const group = [0, 1, 2, 3].map(() => bound(b, 4, '0.0.0.0', 9000, (us) => { us.reusePort = true; us.owner = 7; }));
    const other = b.socket(4);
    other.reusePort = true;
    other.owner = 8;
    assert.equal(b.userBind(other, ip('0.0.0.0'), 9000), -ERRNO.EADDRINUSE, 'another owner may not join');
    assert.equal(b.userBind(b.socket(4), ip(B4), 9000), -ERRNO.EADDRINUSE, 'nor a socket without SO_REUSEPORT');
    const senders = Array.from({ length: 64 }, () => a.socket(4));
    for (const s of senders) for (let k = 0; k < 3; k++) a.userSendmsg(s, bytes(4), 0, 4, ip(B4), 9000, 0);
    net.flush();
    const perSock = group.map(() => new Map<number, number>());
    group.forEach((us, i) => {
      for (let r = recv(b, us); r.r >= 0; r = recv(b, us)) perSock[i]!.set(r.info.port, (perSock[i]!.get(r.info.port) ?? 0) + 1);
    });
    const counts = perSock.map((m) => m.size);
    assert.equal(counts.reduce((x, y) => x + y, 0), 64, 'every flow landed on exactly one socket');
    for (const m of perSock) for (const n of m.values()) assert.equal(n, 3, 'all datagrams of a flow on one socket');
    for (const c of counts) assert.ok(c >= 6, `spread: ${counts.join(',')}`);
    // a member leaves: its flows move, nothing is lost
    b.userClose(group[0]!);
    for (const s of senders) a.userSendmsg(s, bytes(4), 0, 4, ip(B4), 9000, 0);
    net.flush();
    let got = 0;
    for (const us of group.slice(1)) for (let r = recv(b, us); r.r >= 0; r = recv(b, us)) got++;
    assert.equal(got, 64);
  });

  it('ICMP port unreachable: ECONNREFUSED on a connected socket, reported once by the next call', () => {
    const { net, a, b, ipb } = setup();
    const c = a.socket(4);
    const seen: string[] = [];
    const owner: UdpSockOwner = { udpReadable: () => seen.push('r'), udpError: () => seen.push('e') };
    c.sockOwner = owner;
    assert.equal(a.userConnect(c, ip(B4), 9), 0);
    assert.equal(a.userSendmsg(c, bytes(10), 0, 10, null, 0, 0), 10);
    net.flush();
    assert.equal(b.mib.noPorts, 1);
    assert.equal(ipb.portUnreachSent, 1);
    assert.deepEqual(seen, ['e']);
    assert.ok(a.userPoll(c) & EPOLLERR);
    assert.equal(a.userSendmsg(c, bytes(10), 0, 10, null, 0, 0), -ERRNO.ECONNREFUSED);
    assert.equal(a.userPoll(c) & EPOLLERR, 0, 'cleared by the call that reported it');
    assert.equal(a.userSendmsg(c, bytes(10), 0, 10, null, 0, 0), 10);
    net.flush();
    assert.equal(recv(a, c).r, -ERRNO.ECONNREFUSED, 'recvmsg reports it too');
    assert.equal(recv(a, c).r, -ERRNO.EAGAIN);
    a.userSendmsg(c, bytes(10), 0, 10, null, 0, 0);
    net.flush();
    assert.equal(a.userSockError(c), ERRNO.ECONNREFUSED, 'SO_ERROR reads and clears');
    assert.equal(a.userSockError(c), 0);
    // unconnected: ignored
    const u = a.socket(4);
    a.userSendmsg(u, bytes(10), 0, 10, ip(B4), 9, 0);
    net.flush();
    assert.equal(b.mib.noPorts, 4);
    assert.equal(u.err, 0);
    assert.equal(a.userSendmsg(u, bytes(10), 0, 10, ip(B4), 9, 0), 10);
  });

  it('ICMP errors: soft ones ignored, a path-MTU error is hard, errors for other ports ignored', () => {
    const { a, ipa } = setup();
    const c = a.socket(4);
    a.userConnect(c, ip(B4), 53);
    const hdr = new Uint8Array(8);
    new DataView(hdr.buffer).setUint16(0, c.lport);
    new DataView(hdr.buffer).setUint16(2, 53);
    ipa.icmpError(4, ip(A4), ip(B4), hdr, ERRNO.EHOSTUNREACH, false, 11, 0); // time exceeded: soft
    assert.equal(c.err, 0);
    ipa.icmpError(4, ip(A4), ip(B4), hdr, ERRNO.EMSGSIZE, false, 3, 4); // frag needed
    assert.equal(c.err, ERRNO.EMSGSIZE);
    c.err = 0;
    new DataView(hdr.buffer).setUint16(2, 54);
    ipa.icmpError(4, ip(A4), ip(B4), hdr, ERRNO.ECONNREFUSED, true, 3, 3);
    assert.equal(c.err, 0, 'quoted peer port is not ours');
    ipa.icmpError(4, ip(A4), ip(B4), hdr.subarray(0, 2), ERRNO.ECONNREFUSED, true, 3, 3);
    assert.equal(c.err, 0, 'a truncated quote is ignored');
  });

  it('checksums: a corrupted datagram is counted and dropped; IPv4 zero = none; IPv6 zero dropped', () => {
    const { net, a, b, ipb } = setup();
    const rx4 = bound(b, 4, '0.0.0.0', 5353);
    const rx6 = bound(b, 6, B6, 5353);
    const tx = a.socket(4);
    net.filter = (s) => { s.bytes[20] ^= 0x10; return true; };
    a.userSendmsg(tx, bytes(100), 0, 100, ip(B4), 5353, 0);
    net.flush();
    assert.equal(b.mib.inCsumErrors, 1);
    assert.equal(b.mib.inErrors, 1);
    assert.equal(recv(b, rx4).r, -ERRNO.EAGAIN);
    assert.equal(ipb.portUnreachSent, 0, 'no ICMP for a corrupted datagram');
    // the NIC vouched for the checksum: taken as is
    net.filter = null;
    a.userSendmsg(tx, bytes(100), 0, 100, ip(B4), 5353, 0);
    const s = net.queue.shift()!;
    s.bytes[20] ^= 0x10;
    ipb.deliver(s, 1 /* CHECKSUM_UNNECESSARY */);
    assert.equal(recv(b, rx4).r, 100);
    // zero checksum
    const z = new Uint8Array(12);
    new DataView(z.buffer).setUint16(0, 1000);
    new DataView(z.buffer).setUint16(2, 5353);
    new DataView(z.buffer).setUint16(4, 12);
    ipb.inject(A4, B4, z);
    assert.equal(recv(b, rx4).r, 4);
    ipb.inject(A6, B6, z);
    assert.equal(recv(b, rx6).r, -ERRNO.EAGAIN);
    assert.equal(b.mib.inCsumErrors, 2);
    assert.equal(b.mib.inErrors, 2);
    assert.equal(ipb.skbs.live, 2 - 2 + 0, 'dropped skbs freed');
  });

  it('malformed: short header, length beyond the packet, length below 8; trailing bytes trimmed', () => {
    const { b, ipb } = setup();
    const rx = bound(b, 4, '0.0.0.0', 7);
    ipb.inject(A4, B4, new Uint8Array(5));
    const bad = new Uint8Array(20);
    const dv = new DataView(bad.buffer);
    dv.setUint16(2, 7);
    dv.setUint16(4, 21);
    ipb.inject(A4, B4, bad);
    dv.setUint16(4, 7);
    ipb.inject(A4, B4, bad);
    assert.equal(b.mib.inErrors, 3);
    dv.setUint16(4, 12); // 4 payload bytes, 8 bytes of link padding after them
    bad.set([1, 2, 3, 4], 8);
    ipb.inject(A4, B4, bad);
    const r = recv(b, rx);
    assert.equal(r.r, 4);
    assert.deepEqual(r.data, new Uint8Array([1, 2, 3, 4]));
    assert.equal(ipb.skbs.live, 0);
  });

  it('EMSGSIZE past 65 507 bytes over IPv4 and 65 527 over IPv6; the largest go through intact', () => {
    const { net, a, b } = setup(65535 + 40);
    const big = bytes(70000);
    const tx4 = a.socket(4);
    const tx6 = a.socket(6);
    assert.equal(a.userSendmsg(tx4, big, 0, UDP_MAX_PAYLOAD_V4 + 1, ip(B4), 1, 0), -ERRNO.EMSGSIZE);
    assert.equal(a.userSendmsg(tx6, big, 0, UDP_MAX_PAYLOAD_V6 + 1, ip(B6), 1, 0), -ERRNO.EMSGSIZE);
    assert.equal(a.userSendmsg(tx6, big, 0, 65536, ip(B6), 1, 0), -ERRNO.EMSGSIZE);
    const rx4 = bound(b, 4, '0.0.0.0', 1);
    const rx6 = bound(b, 6, B6, 1);
    assert.equal(a.userSendmsg(tx4, big, 0, UDP_MAX_PAYLOAD_V4, ip(B4), 1, 0), UDP_MAX_PAYLOAD_V4);
    assert.equal(a.userSendmsg(tx6, big, 0, UDP_MAX_PAYLOAD_V6, ip(B6), 1, 0), UDP_MAX_PAYLOAD_V6);
    net.flush();
    const r4 = recv(b, rx4);
    assert.equal(r4.r, UDP_MAX_PAYLOAD_V4);
    assert.deepEqual(r4.data, big.subarray(0, UDP_MAX_PAYLOAD_V4));
    const r6 = recv(b, rx6);
    assert.equal(r6.r, UDP_MAX_PAYLOAD_V6);
    assert.deepEqual(r6.data, big.subarray(0, UDP_MAX_PAYLOAD_V6));
  });

  it('DF only on datagrams that fit the path MTU (larger ones are for the IP layer to fragment)', () => {
    const { net, a } = setup(1500);
    const tx = a.socket(4);
    a.userSendmsg(tx, bytes(1472), 0, 1472, ip(B4), 1, 0);
    a.userSendmsg(tx, bytes(1473), 0, 1473, ip(B4), 1, 0);
    assert.equal(net.queue[0]!.opts?.df, true);
    assert.equal(net.queue[1]!.opts?.df, false);
  });

  it('a connected socket keeps its path MTU: no route lookup per datagram; a PMTU error or a local EMSGSIZE refreshes it', () => {
    const { net, a, ipa } = setup(1500);
    const c = a.socket(4);
    assert.equal(a.userConnect(c, ip(B4), 53), 0);
    const before = ipa.routeLookups;
    for (let i = 0; i < 10; i++) a.userSendmsg(c, bytes(100), 0, 100, null, 0, 0);
    assert.equal(ipa.routeLookups, before, 'no lookup per datagram');
    net.queue.length = 0;
    // the path shrinks to 1000: an ICMP frag-needed about our datagram
    ipa.pmtu.set(B4, 1000);
    const hdr = new Uint8Array(8);
    new DataView(hdr.buffer).setUint16(0, c.lport);
    new DataView(hdr.buffer).setUint16(2, 53);
    ipa.icmpError(4, ip(A4), ip(B4), hdr, ERRNO.EMSGSIZE, false, 3, 4);
    assert.equal(a.userSockError(c), ERRNO.EMSGSIZE, 'reported to the connected socket');
    assert.equal(a.userSendmsg(c, bytes(1200), 0, 1200, null, 0, 0), 1200);
    assert.equal(net.queue.at(-1)!.opts?.df, false, 'now over the path MTU: fragmentable');
    // the IP layer learns a smaller MTU without telling the socket: EMSGSIZE → lookup, resend once
    ipa.pmtu.set(B4, 600);
    assert.equal(a.userSendmsg(c, bytes(900), 0, 900, null, 0, 0), 900);
    assert.equal(net.queue.at(-1)!.opts?.df, false);
    assert.equal(c.dstMtu, 600);
    assert.equal(a.mib.outDatagrams, 12);
  });

  it('MSG_PEEK leaves the datagram; MSG_TRUNC reports its real length; msg_flags MSG_TRUNC', () => {
    const { net, a, b } = setup();
    const rx = bound(b, 4, '0.0.0.0', 4242);
    const tx = a.socket(4);
    const m = bytes(100);
    a.userSendmsg(tx, m, 0, 100, ip(B4), 4242, 0);
    a.userSendmsg(tx, m, 0, 50, ip(B4), 4242, 0);
    net.flush();
    assert.equal(b.userInq(rx), 100);
    const p = recv(b, rx, 10, MSG_PEEK);
    assert.equal(p.r, 10);
    assert.equal(p.info.flags, MSG_TRUNC);
    assert.deepEqual(p.data, m.subarray(0, 10));
    assert.equal(b.mib.inDatagrams, 0, 'a peek is not a delivery');
    const t = recv(b, rx, 10, MSG_TRUNC);
    assert.equal(t.r, 100, 'MSG_TRUNC: the real length');
    assert.deepEqual(t.data, m.subarray(0, 10));
    const full = recv(b, rx, 100);
    assert.equal(full.r, 50, 'the rest of a cut datagram is gone');
    assert.equal(full.info.flags, 0);
    assert.equal(b.userInq(rx), 0);
    assert.equal(b.userRecvmsg(rx, new Uint8Array(1), 0, 1, MSG_ERRQUEUE, null), -ERRNO.EAGAIN);
    // zero-length datagram
    a.userSendmsg(tx, m, 0, 0, ip(B4), 4242, 0);
    net.flush();
    assert.ok(b.userPoll(rx) & EPOLLIN);
    assert.equal(recv(b, rx).r, 0);
    assert.equal(b.userPoll(rx) & EPOLLIN, 0);
  });

  it('SO_RCVBUF bounds the receive queue; drops counted; memory returns when read', () => {
    const { net, a, b, ipb } = setup();
    const rx = bound(b, 4, '0.0.0.0', 3000);
    b.setRcvbuf(rx, 1);
    assert.equal(rx.rcvbuf, 2304, 'SOCK_MIN_RCVBUF');
    const tx = a.socket(4);
    for (let i = 0; i < 10; i++) a.userSendmsg(tx, bytes(1000), 0, 1000, ip(B4), 3000, 0);
    net.flush();
    assert.equal(rx.rxq.count, 2, 'charged while at most SO_RCVBUF was in use');
    assert.equal(b.mib.rcvbufErrors, 8);
    assert.equal(b.mib.inErrors, 8);
    assert.equal(rx.stats.drops, 8);
    while (recv(b, rx).r >= 0);
    assert.equal(rx.rmemAlloc, 0);
    assert.equal(ipb.skbs.live, 0);
    b.setRcvbuf(rx, 1 << 30);
    assert.equal(rx.rcvbuf, 212992 * 2, 'clamped to rmem_max, doubled');
  });

  it('send errors: EDESTADDRREQ, EINVAL port 0, EOPNOTSUPP, EAFNOSUPPORT, ENETUNREACH, EACCES, EPIPE', () => {
    const { a } = setup();
    const s = a.socket(4);
    const m = bytes(4);
    assert.equal(a.userSendmsg(s, m, 0, 4, null, 0, 0), -ERRNO.EDESTADDRREQ);
    assert.equal(a.userSendmsg(s, m, 0, 4, ip(B4), 0, 0), -ERRNO.EINVAL);
    assert.equal(a.userSendmsg(s, m, 0, 4, ip(B4), 1, MSG_OOB), -ERRNO.EOPNOTSUPP);
    assert.equal(a.userSendmsg(s, m, 0, 4, ip(B6), 1, 0), -ERRNO.EAFNOSUPPORT);
    assert.equal(a.userSendmsg(s, m, 0, 4, ip('255.255.255.255'), 1, 0), -ERRNO.EACCES);
    s.broadcast = true;
    assert.equal(a.userSendmsg(s, m, 0, 4, ip('255.255.255.255'), 1, 0), 4);
    const s6 = a.socket(6);
    s6.v6only = true;
    assert.equal(a.userSendmsg(s6, m, 0, 4, ip(`::ffff:${B4}`), 1, 0), -ERRNO.ENETUNREACH);
    const lonely = new UdpProto(new FakeIp(new FakeNet(), [A4]), new FakeIp(new FakeNet(), []).skbs, 1);
    assert.equal(lonely.userSendmsg(lonely.socket(6), m, 0, 4, ip(B6), 1, 0), -ERRNO.ENETUNREACH);
    assert.equal(a.userShutdown(s, SHUT_WR), -ERRNO.ENOTCONN, 'unconnected: ENOTCONN, mask applied anyway');
    assert.equal(a.userSendmsg(s, m, 0, 4, ip(B4), 1, 0), -ERRNO.EPIPE);
  });

  it('no host memory for the datagram: ENOBUFS to the caller (it may wait), SndbufErrors', () => {
    const ipa = new FakeIp(new FakeNet(), [A4]);
    const tiny = new UdpProto(ipa, new SkbCache(new MemSpace({ maxHostBytes: 4 * 4096 })), 1);
    const s = tiny.socket(4);
    assert.equal(tiny.userSendmsg(s, bytes(20000), 0, 20000, ip(B4), 1, 0), -ERRNO.ENOBUFS);
    assert.equal(tiny.mib.sndbufErrors, 1);
    assert.equal(tiny.mib.outDatagrams, 0);
    assert.equal(tiny.skbs.live, 0, 'nothing left allocated');
  });

  it('IP-layer ENOBUFS is a local drop counted in SndbufErrors, not an error', () => {
    const { a, ipa } = setup();
    const s = a.socket(4);
    ipa.outputResult = -ERRNO.ENOBUFS;
    assert.equal(a.userSendmsg(s, bytes(4), 0, 4, ip(B4), 1, 0), 4);
    assert.equal(a.mib.sndbufErrors, 1);
    assert.equal(a.mib.outDatagrams, 0);
    ipa.outputResult = -ERRNO.EHOSTUNREACH;
    assert.equal(a.userSendmsg(s, bytes(4), 0, 4, ip(B4), 1, 0), -ERRNO.EHOSTUNREACH);
  });

  it('connect / AF_UNSPEC disconnect: implicit port and address are released, explicit ones kept', () => {
    const { a, net, b } = setup();
    const s = a.socket(4);
    assert.equal(a.userConnect(s, ip(B4), 53), 0);
    assert.ok(s.lport !== 0);
    assert.equal(addrToString(s.laddr), A4);
    assert.equal(a.ports.users(s.lport).length, 1);
    const port = s.lport;
    assert.equal(a.userConnect(s, null, 0), 0);
    assert.equal(s.lport, 0);
    assert.equal(addrToString(s.laddr), '0.0.0.0');
    assert.equal(a.ports.users(port).length, 0);
    assert.equal(a.userSendmsg(s, bytes(1), 0, 1, null, 0, 0), -ERRNO.EDESTADDRREQ);
    const e = bound(a, 4, A4, 1234);
    a.userConnect(e, ip(B4), 53);
    a.userConnect(e, null, 0);
    assert.equal(e.lport, 1234);
    assert.equal(addrToString(e.laddr), A4);
    // connect to the wildcard is the loopback address
    const l = a.socket(4);
    assert.equal(a.userConnect(l, ip('0.0.0.0'), 7), 0);
    assert.equal(addrToString(l.raddr), '127.0.0.1');
    // a connected socket only hears its peer
    const rx = bound(b, 4, '0.0.0.0', 4444);
    b.userConnect(rx, ip(A4), 1);
    a.userSendmsg(a.socket(4), bytes(3), 0, 3, ip(B4), 4444, 0);
    net.flush();
    assert.equal(recv(b, rx).r, -ERRNO.EAGAIN);
    assert.equal(b.mib.noPorts, 1);
    const v6 = a.socket(6);
    v6.v6only = true;
    assert.equal(a.userConnect(v6, ip(`::ffff:${B4}`), 1), -ERRNO.ENETUNREACH);
    assert.equal(a.userConnect(a.socket(4), ip(B6), 1), -ERRNO.EAFNOSUPPORT);
    assert.equal(a.userConnect(a.socket(4), ip('255.255.255.255'), 1), -ERRNO.EACCES);
  });

  it('broadcast: a copy for every matching socket; nobody → IgnoredMulti, no ICMP', () => {
    const { net, a, b, ipb } = setup();
    const s = a.socket(4);
    s.broadcast = true;
    a.userSendmsg(s, bytes(500), 0, 500, ip('255.255.255.255'), 67, 0);
    net.flush();
    assert.equal(b.mib.ignoredMulti, 1);
    assert.equal(ipb.portUnreachSent, 0);
    const r1 = bound(b, 4, '0.0.0.0', 67, (us) => { us.reuseAddr = true; });
    const r2 = bound(b, 6, '::', 67, (us) => { us.reuseAddr = true; });
    const r3 = bound(b, 4, B4, 67, (us) => { us.reuseAddr = true; });
    const m = bytes(3000, 9);
    a.userSendmsg(s, m, 0, m.length, ip('255.255.255.255'), 67, 0);
    net.flush();
    assert.deepEqual(recv(b, r1).data, m);
    assert.deepEqual(recv(b, r2).data, m);
    assert.equal(recv(b, r3).r, -ERRNO.EAGAIN, 'bound to another address');
    assert.equal(ipb.skbs.live, 0);
  });

  it('a subnet broadcast goes to every socket; a unicast to us in a link-layer broadcast frame stays unicast', () => {
    const { net, a, b, ipb } = setup();
    const r1 = bound(b, 4, '0.0.0.0', 68, (us) => { us.reuseAddr = true; });
    const r2 = bound(b, 4, '0.0.0.0', 68, (us) => { us.reuseAddr = true; });
    const s = a.socket(4);
    a.userSendmsg(s, bytes(20), 0, 20, ip('10.0.0.255'), 68, 0);
    const sb = net.queue.shift()!;
    ipb.deliver({ ...sb, bcast: true }); // the IP layer flags a directed broadcast as linkBcast
    assert.equal(recv(b, r1).r, 20);
    assert.equal(recv(b, r2).r, 20);
    a.userSendmsg(s, bytes(21), 0, 21, ip(B4), 68, 0);
    const su = net.queue.shift()!;
    ipb.deliver({ ...su, bcast: true });
    assert.equal(recv(b, r2).r, 21, 'unicast: the one best socket');
    assert.equal(recv(b, r1).r, -ERRNO.EAGAIN);
    a.userSendmsg(s, bytes(22), 0, 22, ip(B4), 69, 0);
    ipb.deliver({ ...net.queue.shift()!, bcast: true });
    assert.equal(b.mib.noPorts, 1, 'unicast with no socket: NoPorts (the IP layer decides about ICMP)');
    assert.equal(b.mib.ignoredMulti, 0);
  });

  it('poll and shutdown: EPOLLOUT always, SHUT_RD gives EOF and RDHUP; close frees the queue', () => {
    const { net, a, b, ipb } = setup();
    const rx = bound(b, 4, '0.0.0.0', 999);
    assert.equal(b.userPoll(rx), EPOLLOUT | 0x100 | 0x200);
    a.userSendmsg(a.socket(4), bytes(10), 0, 10, ip(B4), 999, 0);
    net.flush();
    assert.equal(b.userShutdown(rx, SHUT_RD), -ERRNO.ENOTCONN);
    assert.ok(b.userPoll(rx) & EPOLLRDHUP);
    assert.equal(recv(b, rx).r, 10, 'queued data is still read');
    const eof = recv(b, rx);
    assert.equal(eof.r, 0, 'then EOF');
    assert.equal(eof.info.datagram, false, 'EOF is not an empty datagram');
    a.userSendmsg(a.socket(4), bytes(10), 0, 10, ip(B4), 999, 0);
    net.flush();
    assert.equal(ipb.skbs.live, 1);
    b.userClose(rx);
    assert.equal(ipb.skbs.live, 0);
    assert.equal(b.ports.size, 0);
    assert.equal(recv(b, rx).r, -ERRNO.EBADF);
  });
});
