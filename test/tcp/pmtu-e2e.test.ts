/**
 * Path MTU discovery through the whole stack: a "router" on host A's side of the wire drops
 * packets larger than 1280 bytes and answers with ICMP fragmentation-needed (IPv4) / ICMPv6
 * packet-too-big, built byte by byte; IP parses it, hands TCP the error, TCP lowers its MSS,
 * resends, and the transfer completes with every later frame within the path MTU.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants as C, NcdevmemPattern, Network, type NetDevice } from '../../src/index.js';
import type { SkBuff } from '../../src/skb/index.js';
import { skbCopyBits, skbFree } from '../../src/skb/index.js';

const PATH_MTU = 1280;

interface LinkPort {
  transmit(skb: SkBuff, from: NetDevice): void;
}

function naiveCsum(b: Uint8Array, seed = 0): number {
  let s = seed;
  for (let i = 0; i < b.length; i += 2) {
    s += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

function mac(m: number): number[] {
  const out: number[] = [];
  for (let i = 5; i >= 0; i--) out.push(Math.floor(m / 2 ** (8 * i)) & 0xff);
  return out;
}

/** the ICMP error a router would send about `pkt` (an IP packet from A), as an Ethernet frame to A */
function icmpTooBig(pkt: Uint8Array, aMac: number, bMac: number): Uint8Array {
  const v6 = pkt[0]! >> 4 === 6;
  const eth = [...mac(aMac), ...mac(bMac), v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00];
  if (!v6) {
    const quote = pkt.subarray(0, 28);
    const icmp = new Uint8Array(8 + quote.length);
    icmp[0] = 3;
    icmp[1] = 4;
    icmp[6] = PATH_MTU >> 8;
    icmp[7] = PATH_MTU & 0xff;
    icmp.set(quote, 8);
    const c = naiveCsum(icmp);
    icmp[2] = c >> 8;
    icmp[3] = c & 0xff;
    const ip = new Uint8Array(20);
    ip[0] = 0x45;
    ip[2] = (20 + icmp.length) >> 8;
    ip[3] = (20 + icmp.length) & 0xff;
    ip[8] = 64;
    ip[9] = 1;
    ip.set(pkt.subarray(16, 20), 12); // from the packet's destination (the router answers for it)
    ip.set(pkt.subarray(12, 16), 16);
    const hc = naiveCsum(ip);
    ip[10] = hc >> 8;
    ip[11] = hc & 0xff;
    return Uint8Array.from([...eth, ...ip, ...icmp]);
  }
  const quote = pkt.subarray(0, Math.min(pkt.length, PATH_MTU - 48));
  const icmp = new Uint8Array(8 + quote.length);
  icmp[0] = 2;
  icmp[4] = 0;
  icmp[6] = PATH_MTU >> 8;
  icmp[7] = PATH_MTU & 0xff;
  icmp.set(quote, 8);
  const src = pkt.subarray(24, 40);
  const dst = pkt.subarray(8, 24);
  // ICMPv6 checksum over the pseudo-header (src, dst, length, next header 58)
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  pseudo[34] = icmp.length >> 8;
  pseudo[35] = icmp.length & 0xff;
  pseudo[39] = 58;
  let s = 0;
  for (const b of [pseudo, icmp]) for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  const c = ~s & 0xffff;
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  const ip = new Uint8Array(40);
  ip[0] = 0x60;
  ip[4] = icmp.length >> 8;
  ip[5] = icmp.length & 0xff;
  ip[6] = 58;
  ip[7] = 255;
  ip.set(src, 8);
  ip.set(dst, 24);
  return Uint8Array.from([...eth, ...ip, ...icmp]);
}

/** A's side of the wire with a 1280-byte next hop */
class Router implements LinkPort {
  tooBig = 0;
  private buf = new Uint8Array(70_000);
  constructor(readonly inner: LinkPort, readonly back: (frame: Uint8Array) => void) {}
  transmit(skb: SkBuff, from: NetDevice): void {
    const ipLen = skb.len - 14;
    if (ipLen > PATH_MTU) {
      skbCopyBits(skb, 0, this.buf, 0, skb.len);
      this.tooBig++;
      const pkt = this.buf.slice(14, skb.len);
      skbFree(skb);
      this.back(icmpTooBig(pkt, from.mac, 0x02aabbccdd01));
      return;
    }
    this.inner.transmit(skb, from);
  }
}

describe('path MTU discovery through the stack', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: ${family === 4 ? 'fragmentation needed' : 'packet too big'} → MSS ${PATH_MTU - (family === 4 ? 40 : 60)}, every byte delivered`, async () => {
      const net = new Network({ seed: 5 });
      const a = net.addHost('a');
      const b = net.addHost('b');
      const ea = a.addDevice('eth0', { rxQueues: 2 });
      const eb = b.addDevice('eth0', { rxQueues: 2 });
      const wire = net.connect(ea, eb, { gbps: 10, delayUs: 20 });
      if (family === 4) {
        a.ip.addAddress('eth0', '10.0.0.1/24');
        b.ip.addAddress('eth0', '10.0.0.2/24');
      } else {
        a.ip.addAddress('eth0', '2001:db8::1/64');
        b.ip.addAddress('eth0', '2001:db8::2/64');
        await net.sleep(3_000_000);
      }
      const router = new Router(ea.link as LinkPort, (frame) => {
        const skb = a.kernel.skbs.wrap(frame, new DataView(frame.buffer));
        wire.bToA.send(skb);
      });
      (ea as unknown as { link: LinkPort }).link = router;
      const af = family === 4 ? C.AF_INET : C.AF_INET6;
      const ls = b.socket(af, C.SOCK_STREAM);
      ls.bind(family === 4 ? '0.0.0.0' : '::', 5201);
      ls.listen(4);
      const cs = a.socket(af, C.SOCK_STREAM);
      const acc = ls.accept();
      await cs.connect(family === 4 ? '10.0.0.2' : '2001:db8::2', 5201);
      const conn = await acc;
      const size = 1 << 20;
      const sending = (async () => {
        const g = new NcdevmemPattern(7);
        const buf = new Uint8Array(64 * 1024);
        for (let sent = 0; sent < size; sent += buf.length) {
          g.generate(buf, 0, buf.length);
          await cs.send(buf);
        }
        cs.close();
      })();
      const check = new NcdevmemPattern(7);
      let got = 0;
      let bad = 0;
      for (;;) {
        const m = await conn.recv(1 << 20);
        if (m.length === 0) break;
        bad += check.check(m, 0, m.length);
        got += m.length;
      }
      await sending;
      assert.equal(got, size);
      assert.equal(bad, 0);
      assert.ok(router.tooBig > 0, 'the router refused big packets');
      // less the 12-byte timestamp option every segment carries (Linux tcp_mtu_to_mss)
      assert.equal(cs.tcb.mss, PATH_MTU - (family === 4 ? 40 : 60) - 12);
      assert.equal(cs.tcb.pmtu, PATH_MTU);
      assert.ok(a.kernel.tcp.stats.pmtuReduced >= 1);
      // the route learned it too: a new connection starts with the smaller MSS
      const cs2 = a.socket(af, C.SOCK_STREAM);
      const acc2 = ls.accept();
      await cs2.connect(family === 4 ? '10.0.0.2' : '2001:db8::2', 5201);
      await acc2;
      assert.equal(cs2.tcb.advMss, PATH_MTU - (family === 4 ? 40 : 60), 'PMTU cached by the IP layer');
      net.close();
    });
  }
});
