/**
 * Test fixtures: two hosts on a simulated wire, host B's NIC set up the way ncdevmem does it
 * (header split on, RSS away from the last queue, an n-tuple rule steering port 5201 to it), and
 * optionally a dma-buf bound to that queue.
 */
import { constants as C, Network, NcdevmemPattern, type DeviceMemory, type Host, type NetDevice, type SimWireOptions } from '../../src/index.js';
import type { NetlinkSocket } from '../../src/netlink/index.js';

export const PORT = 5201;

export interface Pair {
  net: Network;
  a: Host;
  b: Host;
  ea: NetDevice;
  eb: NetDevice;
  devq: number;
}

export function makePair(opts: { seed?: number; mtu?: number; rxQueues?: number; wire?: SimWireOptions } = {}): Pair {
  const net = new Network({ seed: opts.seed ?? 1 });
  const a = net.addHost('a');
  const b = net.addHost('b');
  const rxQueues = opts.rxQueues ?? 4;
  const ea = a.addDevice('eth0', { rxQueues, mtu: opts.mtu ?? 1500 });
  const eb = b.addDevice('eth0', { rxQueues, mtu: opts.mtu ?? 1500 });
  net.connect(ea, eb, { gbps: 100, delayUs: 5, ...opts.wire });
  a.ip.addAddress('eth0', '10.0.0.1/24');
  b.ip.addAddress('eth0', '10.0.0.2/24');
  return { net, a, b, ea, eb, devq: rxQueues - 1 };
}

/** B's last queue bound to a new dma-buf (header split on, a tcp4 rule to PORT); `rxBufSize` as bind-rx's rx-buf-size */
export async function bindDevmem(p: Pair, dmabufSize: number, rxBufSize?: number): Promise<{ dmabuf: DeviceMemory; nl: NetlinkSocket; id: number }> {
  p.b.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
  p.b.ethtool.setRss('eth0', { equal: p.devq });
  p.b.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstIp: '10.0.0.2', dstPort: PORT, action: p.devq });
  const dmabuf = p.b.allocDeviceMemory(dmabufSize);
  const nl = p.b.netlink();
  const queues = [{ id: p.devq, type: 'rx' as const }];
  const { id } = await nl.netdev.bindRx({ ifindex: p.eb.ifindex, fd: dmabuf.fd, queues, ...(rxBufSize !== undefined ? { rxBufSize } : {}) });
  return { dmabuf, nl, id };
}

/** starts a client on A that sends `size` pattern bytes then closes; resolves when done */
export async function patternSender(p: Pair, size: number, period = 7, chunk = 64 * 1024): Promise<void> {
  const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
  await cs.connect('10.0.0.2', PORT);
  const g = new NcdevmemPattern(period);
  const buf = new Uint8Array(chunk);
  let sent = 0;
  while (sent < size) {
    const n = Math.min(chunk, size - sent);
    g.generate(buf, 0, n);
    await cs.send(buf.subarray(0, n));
    sent += n;
  }
  cs.close();
}

export function listen(p: Pair) {
  const ls = p.b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', PORT);
  ls.listen(8);
  return ls;
}

/** a listener on B, a patternSender of `size` bytes from A to it (its promise) and the accepted connection */
export async function patternConn(p: Pair, size: number) {
  const ls = listen(p);
  const sender = patternSender(p, size);
  const conn = await ls.accept();
  return { ls, sender, conn };
}

/** a listener on B and an established connection from A to it */
export async function connectPair(p: Pair) {
  const ls = listen(p);
  const cs = p.a.socket(C.AF_INET, C.SOCK_STREAM);
  const acc = ls.accept();
  await cs.connect('10.0.0.2', PORT);
  const conn = await acc;
  return { ls, cs, conn };
}
