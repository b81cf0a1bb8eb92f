// TAP link against the Linux kernel, as root, inside a network namespace each test creates and
// deletes: frames both ways (ARP, ping, UDP echo with our partial checksums), GSO super-frames
// from a kernel TCP sender and one of ours accepted by the kernel, multi-queue (two fds, flows
// steered back to the queue we wrote them on), errors (ENOENT, EPERM, EINVAL, EBUSY), a device
// deleted under the link, and close (workers stop, the device disappears). Skips without root
// or /dev/net/tun, except under CI where that fails.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TapLink, txQueueOf, type TapLinkOptions } from '../../src/link/tap/index.js';
import { ErrnoError } from '../../src/uapi/errno.js';
import {
  ipv4, NETNS_PREFIX, patternByte, StubPeer, sweepStaleNetns, tapSkip, TestNetns, uniqueTag, until, type TcpPlan,
} from './tap-helpers.js';

const skip = tapSkip();
const MAC = Uint8Array.from([0x02, 0, 0, 0, 0x7a, 0x02]);

const PING_PY = `
import socket, struct, sys
def cs(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
dst, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.settimeout(5)
for seq in range(count):
    payload = b'devmem-tap-ping-%d' % seq
    h = struct.pack('!BBHHH', 8, 0, 0, 0x7a7a, seq)
    s.sendto(struct.pack('!BBHHH', 8, 0, cs(h + payload), 0x7a7a, seq) + payload, (dst, 0))
    while True:
        d, _ = s.recvfrom(65536); ihl = (d[0] & 15) * 4; icmp = d[ihl:]
        t, _, _, i, sq = struct.unpack('!BBHHH', icmp[:8])
        if t == 0 and i == 0x7a7a and sq == seq:
            assert icmp[8:] == payload and cs(icmp) == 0, 'bad echo reply'
            break
print('pong', count)
`;

const UDP_PY = `
import socket, sys
dst, flows, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for i in range(flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5); s.bind(('0.0.0.0', 0)); socks.append(s)
ok = 0
for r in range(rounds):
    for i, s in enumerate(socks):
        msg = b'flow %d round %d' % (i, r)
        s.sendto(msg, (dst, 7))
        d, a = s.recvfrom(2048)
        assert d == msg and a == (dst, 7), (d, a)
        ok += 1
print('echoes', ok)
`;

const TCP_PY = `
import socket, sys, hashlib
dst, port, n_in, n_out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.create_connection((dst, port), timeout=15)
buf = b''
while len(buf) < n_in:
    d = s.recv(65536)
    if not d: break
    buf += d
assert buf == bytes(k % 251 for k in range(n_in)), 'bad bytes from the stub'
pat = bytes(k % 251 for k in range(251)) * (n_out // 251 + 1)
s.sendall(pat[:n_out])
s.shutdown(socket.SHUT_WR)
assert s.recv(1) == b''
print('tcp ok', len(buf), n_out)
`;

describe('TAP link (kernel in a network namespace)', { skip }, () => {
  const links: TapLink[] = [];
  const nss: TestNetns[] = [];

  function open(opts: TapLinkOptions = {}): TapLink {
    const l = new TapLink({ name: `tapt${uniqueTag()}`, ...opts });
    links.push(l);
    return l;
  }
  async function netns(): Promise<TestNetns> {
    const ns = await TestNetns.create();
    nss.push(ns);
    return ns;
  }

  afterEach(async () => {
    for (const l of links.splice(0)) await l.close();
    for (const ns of nss.splice(0)) await ns.destroy();
  });
  before(async () => {
    await sweepStaleNetns();
  });
  after(async () => {
    // nothing this file made is left behind: namespaces, and tap devices (they die with the fds)
    const left = (await promisify(execFile)('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(NETNS_PREFIX));
    assert.deepEqual(left, []);
    const links = (await promisify(execFile)('ip', ['-o', 'link', 'show'])).stdout.split('\n').filter((l) => l.includes(`tapt${(process.pid % 100000).toString(36)}x`));
    assert.deepEqual(links, []);
  });

  for (const io of ['worker', 'poll'] as const) {
    it(`answers the kernel's ARP and ping, and UDP echo with partial checksums (io=${io})`, async () => {
      const link = open({ io });
      assert.equal(link.kind, 'tap');
      assert.deepEqual(link.offloads, { txCsum: true, tso4: true, tso6: true, rxGso: true });
      const peer = new StubPeer(link, MAC, ipv4('10.77.0.2'));
      link.attach(peer);
      const ns = await netns();
      await ns.adopt(link.name, '10.77.0.1/24');
      const out = await ns.python(PING_PY, ['10.77.0.2', '3']);
      assert.match(out, /pong 3/);
      assert.equal(peer.icmpReplies, 3);
      assert.ok(peer.arpReplies >= 1);
      const neigh = await ns.exec(['ip', 'neigh', 'show', '10.77.0.2']);
      assert.match(neigh, /lladdr 02:00:00:00:7a:02/);
      const udp = await ns.python(UDP_PY, ['10.77.0.2', '4', '2']);
      assert.match(udp, /echoes 8/);
      assert.equal(peer.badCsum, 0);
      assert.ok(peer.flushes > 0);
      assert.equal(peer.errors.length, 0);
      assert.equal(link.stats.txErrors, 0);
      assert.equal(link.stats.txFrames, peer.arpReplies + peer.icmpReplies + peer.udpEchoes);
      assert.equal(link.stats.rxFrames, peer.records.length);
      assert.equal(link.stats.rxBad, 0);
      for (const r of peer.records) assert.equal(r.queue, undefined); // single queue: RSS decides
    });
  }

  it('takes GSO super-frames from a kernel TCP sender and the kernel takes ours (vnet hdr)', async () => {
    const link = open();
    const plan: TcpPlan = { port: 5001, sendOnConnect: 3000, gsoSize: 1000 };
    const peer = new StubPeer(link, MAC, ipv4('10.78.0.2'), plan);
    link.attach(peer);
    const ns = await netns();
    await ns.adopt(link.name, '10.78.0.1/24');
    const nOut = 4 << 20;
    const out = await ns.python(TCP_PY, ['10.78.0.2', '5001', '3000', String(nOut)], 60_000);
    assert.match(out, /tcp ok 3000/);
    assert.equal(peer.tcpIn, nOut);
    assert.equal(peer.tcpPatternErrors, 0);
    assert.ok(peer.tcpFinSeen);
    const gso = peer.records.filter((r) => r.meta?.gsoType === 'tcpv4');
    assert.ok(gso.length > 0, 'the kernel sent no GSO super-frame');
    for (const r of gso) {
      const m = r.meta!;
      assert.equal(m.gsoSize, 1460); // our SYN-ACK's MSS, no TCP options in data segments
      assert.ok(r.len > 14 + 20 + 20 + m.gsoSize, `a super-frame carries more than one segment (${r.len})`);
      assert.ok(r.len <= 65536 + 14);
      assert.equal(m.needsCsum, true);
      assert.equal(m.csumStart, 34);
      assert.equal(m.csumOffset, 16);
      assert.ok(m.hdrLen >= 54, `hdr_len ${m.hdrLen}`);
    }
    assert.equal(link.stats.rxGso, gso.length);
    assert.ok(link.stats.rxCsumPartial >= gso.length);
    assert.equal(link.stats.txGso, 1);
    assert.equal(peer.errors.length, 0);
  });

  it('multi-queue: two fds, flows spread over both rx queues and steered back to the queue we wrote on', async () => {
    const link = open({ queues: 2 });
    assert.equal(link.queues, 2);
    assert.equal(link.fds.length, 2);
    assert.notEqual(link.fds[0], link.fds[1]);
    const flags = parseInt(readFileSync(`/sys/class/net/${link.name}/tun_flags`, 'utf8'), 16);
    assert.equal(flags & 0x0100, 0x0100, 'IFF_MULTI_QUEUE');
    assert.equal(flags & 0x4000, 0x4000, 'IFF_VNET_HDR');
    const qs = readdirSync(`/sys/class/net/${link.name}/queues`).sort();
    assert.deepEqual(qs, ['rx-0', 'rx-1', 'tx-0', 'tx-1']);
    const peer = new StubPeer(link, MAC, ipv4('10.79.0.2'));
    link.attach(peer);
    const ns = await netns();
    await ns.adopt(link.name, '10.79.0.1/24');
    const out = await ns.python(UDP_PY, ['10.79.0.2', '24', '2']);
    assert.match(out, /echoes 48/);
    const udp = peer.records.filter((r) => r.proto === 17 && r.dport === 7);
    assert.equal(udp.length, 48);
    const queues = new Set(udp.map((r) => r.queue));
    assert.deepEqual([...queues].sort(), [0, 1]);
    // the second datagram of each flow arrives on the queue our echo of the first was written on
    const bySport = new Map<number, number[]>();
    for (const r of udp) bySport.set(r.sport, [...(bySport.get(r.sport) ?? []), r.queue!]);
    for (const [sport, qs2] of bySport) {
      assert.equal(qs2.length, 2);
      assert.equal(qs2[1], txQueueOf(peer.udpReplyFrames.get(sport)!, 2), `flow ${sport}`);
    }
  });

  it('plain TAP without vnet headers: no offloads, frames both ways', async () => {
    const link = open({ vnetHdr: false, io: 'poll' });
    assert.deepEqual(link.offloads, { txCsum: false, tso4: false, tso6: false, rxGso: false });
    const flags = parseInt(readFileSync(`/sys/class/net/${link.name}/tun_flags`, 'utf8'), 16);
    assert.equal(flags & 0x4000, 0);
    const peer = new StubPeer(link, MAC, ipv4('10.80.0.2'));
    link.attach(peer);
    const ns = await netns();
    // the kernel side's MTU raised past the link's: frames still arrive whole (tun would cut
    // frames longer than our read buffer without a word)
    await ns.adopt(link.name, '10.80.0.1/24', 9000);
    assert.match(await ns.python(PING_PY, ['10.80.0.2', '2']), /pong 2/);
    await ns.python("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'j' * 8000, ('10.80.0.2', 9))", []);
    await until(() => peer.records.some((r) => r.proto === 17 && r.dport === 9), 5000, 'the jumbo datagram');
    assert.equal(peer.records.find((r) => r.proto === 17 && r.dport === 9)!.len, 14 + 20 + 8 + 8000);
    assert.equal(link.stats.rxTruncated, 0);
    for (const r of peer.records) assert.equal(r.meta, null);
  });

  it('sets the kernel MTU when given, and a jumbo ping fits', async () => {
    const link = open({ mtu: 9000 });
    assert.equal(link.mtu, 9000);
    assert.equal(readFileSync(`/sys/class/net/${link.name}/mtu`, 'utf8').trim(), '9000');
    const peer = new StubPeer(link, MAC, ipv4('10.81.0.2'));
    link.attach(peer);
    const ns = await netns();
    await ns.adopt(link.name, '10.81.0.1/24');
    const script = PING_PY.replace("b'devmem-tap-ping-%d' % seq", "(b'%d' % seq) * 8500");
    assert.match(await ns.python(script, ['10.81.0.2', '2']), /pong 2/);
    assert.ok(peer.records.some((r) => r.len > 8000));
  });

  it('errors: ENOENT without the tun device, EINVAL for bad options, EBUSY for a taken name, EPERM without CAP_NET_ADMIN', async (t) => {
    assert.throws(() => new TapLink({ devPath: '/nonexistent/tun' }), (e: unknown) => e instanceof ErrnoError && e.code === 'ENOENT' && /\/nonexistent\/tun/.test(e.message));
    assert.throws(() => new TapLink({ name: 'x'.repeat(16) }), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    assert.throws(() => new TapLink({ name: 'a/b' }), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    assert.throws(() => new TapLink({ queues: 0 }), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    assert.throws(() => new TapLink({ queues: 257 }), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    assert.throws(() => new TapLink({ ringSlots: 3 }), (e: unknown) => e instanceof ErrnoError && e.code === 'EINVAL');
    const a = open();
    assert.throws(() => new TapLink({ name: a.name }), (e: unknown) => e instanceof ErrnoError && e.code === 'EBUSY');
    assert.ok(existsSync(`/sys/class/net/${a.name}`), 'the failed open left the first device alone');
    // root without CAP_NET_ADMIN: open works, TUNSETIFF is refused
    const js = `import('${new URL('../../src/link/tap/index.js', import.meta.url).href}').then((m) => {
      try { new m.TapLink({ name: 'taptnocap' }); console.log('opened'); } catch (e) { console.log(e.code, e.message); } })`;
    if (!existsSync('/usr/bin/setpriv')) return t.diagnostic('EPERM case skipped: no setpriv (util-linux)');
    const r = await promisify(execFile)('setpriv', ['--inh-caps=-net_admin', '--bounding-set=-net_admin', process.execPath, '-e', js]);
    assert.match(r.stdout, /^EPERM .*TUNSETIFF.*CAP_NET_ADMIN/);
  });

  it('a device deleted under the link: each queue reports one error and stops; close still works', async () => {
    const link = open({ queues: 2 });
    const peer = new StubPeer(link, MAC, ipv4('10.82.0.2'));
    link.attach(peer);
    const ns = await netns();
    await ns.adopt(link.name, '10.82.0.1/24');
    await ns.exec(['ip', 'link', 'del', link.name]);
    await until(() => peer.errors.length === 2, 5000, 'both queues to report the dead fd');
    for (const e of peer.errors) assert.ok(e instanceof ErrnoError && e.code === 'E77', String(e));
    // sends to a dead device are dropped and reported once
    const frame = new Uint8Array(60).fill(0xff);
    assert.equal(link.send(frame), true);
    assert.equal(link.send(frame), true);
    assert.equal(link.stats.txErrors, 2);
    assert.equal(peer.errors.length, 3);
    await link.close();
  });

  it('hands frames up as views reused per length: bytes exact, no stale view after the buffer changes', () => {
    const link = open({ vnetHdr: false });
    const got: { view: Uint8Array; bytes: number[] }[] = [];
    link.attach({
      receive: (f) => { got.push({ view: f, bytes: [...f] }); },
      flush: () => undefined, drain: () => undefined, error: () => undefined,
    });
    const a = new Uint8Array(256);
    for (let i = 0; i < a.length; i++) a[i] = i;
    link.deliver(a, 0, 60, 0);
    link.deliver(a, 0, 60, 0);
    link.deliver(a, 0, 100, 0);
    a[0] = 0xee;
    link.deliver(a, 0, 60, 0);
    assert.equal(got[0]!.view, got[1]!.view, 'the same view for the same buffer and length');
    assert.equal(got[1]!.view, got[3]!.view);
    assert.deepEqual(got.map((g) => g.bytes.length), [60, 60, 100, 60]);
    assert.deepEqual(got[2]!.bytes, Array.from({ length: 100 }, (_, i) => i));
    assert.equal(got[3]!.bytes[0], 0xee, 'the view reads the buffer as it is now');
    // another buffer (and an offset into it): fresh views over it, never the old buffer's
    const b = new Uint8Array(300).fill(7);
    link.deliver(b, 20, 60, 0);
    assert.notEqual(got[4]!.view, got[0]!.view);
    assert.equal(got[4]!.view.buffer, b.buffer);
    assert.equal(got[4]!.view.byteOffset, 20);
    assert.deepEqual(got[4]!.bytes, new Array<number>(60).fill(7));
    assert.equal(link.stats.rxFrames, 5);
  });

  it('close: stops delivery, the device disappears, later sends are dropped, close is idempotent', async () => {
    const link = open();
    const name = link.name;
    const peer = new StubPeer(link, MAC, ipv4('10.83.0.2'));
    link.attach(peer);
    assert.throws(() => link.attach(peer), (e: unknown) => e instanceof ErrnoError && e.code === 'EBUSY');
    assert.ok(existsSync(`/sys/class/net/${name}`));
    // the kernel side is still down: a frame is dropped as "no carrier" (EIO), not an error
    assert.equal(link.send(new Uint8Array(60).fill(0xff)), true);
    assert.equal(link.stats.txCarrier, 1);
    assert.equal(link.stats.txErrors, 0);
    assert.equal(peer.errors.length, 0);
    await Promise.all([link.close(), link.close()]);
    peer.closed = true; // any receive from now on throws
    assert.equal(existsSync(`/sys/class/net/${name}`), false);
    assert.equal(link.send(new Uint8Array(60)), true);
    assert.equal(link.stats.txDropped, 1);
    assert.equal(peer.records.length, 0);
    assert.throws(() => link.attach(peer), (e: unknown) => e instanceof ErrnoError && e.code === 'EBADF');
    assert.equal(patternByte(251), 0);
  });
});
