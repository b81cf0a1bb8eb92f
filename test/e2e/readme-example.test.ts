// The README's example, run as written (with a bounded transfer): the docs must stay true.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Network, constants as C } from '../../src/index.js';

it('README example: devmem receive with DONTNEED; the host reads no payload', async () => {
  const net = new Network({ seed: 1 });
  const a = net.addHost('a'), b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: 4, mtu: 1500 });
  const eb = b.addDevice('eth0', { rxQueues: 4, mtu: 1500 });
  net.connect(ea, eb, { gbps: 100, delayUs: 5, loss: 0.01 });
  a.ip.addAddress('eth0', '10.0.0.1/24');
  b.ip.addAddress('eth0', '10.0.0.2/24');
  b.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
  b.ethtool.setRss('eth0', { equal: 3 });
  b.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstPort: 5201, action: 3 });
  const dmabuf = b.allocDeviceMemory(64 << 20);
  const nl = b.netlink();
  const { id } = await nl.netdev.bindRx({ ifindex: eb.ifindex, fd: dmabuf.fd, queues: [{ id: 3, type: 'rx' }] });
  const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', 5201);
  ls.listen(8);
  const client = a.socket(C.AF_INET, C.SOCK_STREAM);
  void client.connect('10.0.0.2', 5201).then(() => client.send(new Uint8Array(1 << 20))).then(() => client.close());
  const conn = await ls.accept();
  let bytes = 0;
  let freed = 0;
  let pieces = 0;
  for (;;) {
    const m = await conn.recvmsg({ iovLen: 800 << 10, controlLen: 80_000, flags: C.MSG_SOCK_DEVMEM });
    if (m.length === 0) break;
    bytes += m.length;
    for (const c of m.cmsgs) {
      if (c.kind !== 'dmabuf') continue;
      assert.equal(c.dmabufId, id);
      dmabuf.digest(c.fragOffset, c.fragSize);
      pieces++;
      freed += conn.setsockopt(C.SOL_SOCKET, C.SO_DEVMEM_DONTNEED, [{ tokenStart: c.fragToken, tokenCount: 1 }]);
    }
  }
  assert.equal(bytes, 1 << 20);
  assert.equal(freed, pieces);
  assert.equal(dmabuf.stats.hostBytesRead, 0);
  net.close();
});
