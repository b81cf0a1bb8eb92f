// The stall diagnosis read from the counters, in-process: an application that never returns its
// tokens exhausts device memory, and the diagnosis names the tokens (not the stack) as the holder.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Network, constants as C } from '../../src/index.js';
import { diagnoseStall } from '../../src/cli/demo/diagnose.js';

it('tokens never returned: "16 of 16 device buffers in use, N tokens not returned", rx-alloc-fail counted', async () => {
  const net = new Network({ seed: 3 });
  const a = net.addHost('a'), b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: 4, mtu: 1500 });
  const eb = b.addDevice('eth0', { rxQueues: 4, mtu: 1500 });
  const wire = net.connect(ea, eb, { gbps: 100, delayUs: 5 });
  a.ip.addAddress('eth0', '10.0.0.1/24');
  b.ip.addAddress('eth0', '10.0.0.2/24');
  b.ethtool.setRings('eth0', { tcpDataSplit: 'on', hdsThresh: 0 });
  b.ethtool.setRss('eth0', { equal: 3 });
  b.ethtool.addNtupleRule('eth0', { flowType: 'tcp4', dstPort: 5201, action: 3 });
  const dmabuf = b.allocDeviceMemory(64 << 10);
  const nl = b.netlink();
  const { id } = await nl.netdev.bindRx({ ifindex: eb.ifindex, fd: dmabuf.fd, queues: [{ id: 3, type: 'rx' }] });
  const ls = b.socket(C.AF_INET, C.SOCK_STREAM);
  ls.bind('0.0.0.0', 5201);
  ls.listen(8);
  const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
  const sender = cs.connect('10.0.0.2', 5201).then(() => cs.send(new Uint8Array(1 << 20)));
  sender.catch(() => undefined);
  const conn = await ls.accept();
  let bytes = 0;
  const reader = (async () => {
    for (;;) {
      const m = await conn.recvmsg({ iovLen: 800 << 10, controlLen: 80_000, flags: C.MSG_SOCK_DEVMEM });
      if (m.length === 0) return;
      bytes += m.length; // the tokens are kept: never SO_DEVMEM_DONTNEED
    }
  })();
  reader.catch(() => undefined);
  await net.sleep(5_000_000);
  const held = conn.tcpInfo().devmemTokens;
  assert.ok(held >= 16, `${held} tokens out (a token per frag, at least one per buffer)`);
  const line = await diagnoseStall(
    { size: 1 << 20, bytes, mode: 'devmem', stallUs: 5_000_000, error: null, errorSide: null, quietFrames: 1, dmabufPages: 16 },
    { a, b, nl, bindingId: id, conn, cs, rxq: eb.rxQueues[3]!, wire: wire.stats },
  );
  assert.match(line, new RegExp(`^no progress for 5 s \\(virtual\\): ${bytes} of 1048576 bytes delivered; `));
  assert.match(line, new RegExp(`device memory exhausted: 16 of 16 device buffers in use, ${held} tokens not returned by the application \\(SO_DEVMEM_DONTNEED\\); rx-alloc-fail [1-9]\\d*`));
  assert.doesNotMatch(line, /out-of-order/);
  assert.doesNotMatch(line, /went quiet/);
  // with the error set instead of the watchdog, the line starts with the failing side
  const e = await diagnoseStall(
    { size: 1 << 20, bytes, mode: 'copy', stallUs: 5_000_000, error: 'ECONNRESET', errorSide: 'receiver', quietFrames: 0, dmabufPages: 0 },
    { a, b, nl, bindingId: 0, conn, cs, rxq: eb.rxQueues[3]!, wire: wire.stats },
  );
  assert.match(e, new RegExp(`^receiver failed with ECONNRESET after ${bytes} of 1048576 bytes; rx-alloc-fail [1-9]\\d*; sender: `));
  nl.close();
  await net.close();
});
