// The demo's stall diagnosis as the other long commands use it: without a sender of ours (a real
// peer: ncdevmem on a link) it reports only the receiving side, in real time, without a total;
// corrupted frames and packets dropped for the MTU are named, since "wire lost 0" alone would
// hide why a run stopped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Network, constants as C } from '../../src/index.js';
import { diagnoseStall } from '../../src/cli/demo/diagnose.js';
import { DEFAULT_TRANSFER, runTransfer } from '../../src/cli/transfer.js';

async function pair() {
  const net = new Network({ seed: 5 });
  const a = net.addHost('a'), b = net.addHost('b');
  const ea = a.addDevice('eth0', { rxQueues: 2, mtu: 1500 });
  const eb = b.addDevice('eth0', { rxQueues: 2, mtu: 1500 });
  net.connect(ea, eb, { gbps: 100, delayUs: 5 });
  a.ip.addAddress('eth0', '10.0.0.1/24');
  b.ip.addAddress('eth0', '10.0.0.2/24');
  const nl = b.netlink();
  const cs = a.socket(C.AF_INET, C.SOCK_STREAM);
  return { net, a, b, eb, nl, cs };
}

const EV = { size: 0, bytes: 1234, mode: 'copy' as const, stallUs: 30_000_000, error: null, errorSide: null, quietFrames: 0, dmabufPages: 0 };

describe('diagnoseStall for ncdevmem and the bench', () => {
  it('no sender of ours, no wire (a real link): receiving side only, "real time", no total', async () => {
    const { net, b, eb, nl } = await pair();
    const line = await diagnoseStall(EV, { a: null, b, nl, bindingId: 0, conn: null, cs: null, rxq: eb.rxQueues[1]!, wire: null });
    assert.equal(line, 'no progress for 30 s (real time): 1234 bytes delivered');
    const err = await diagnoseStall({ ...EV, error: 'ECONNRESET', errorSide: 'receiver', size: 4096 }, {
      a: null, b, nl, bindingId: 0, conn: null, cs: null, rxq: eb.rxQueues[1]!, wire: null,
    });
    assert.equal(err, 'receiver failed with ECONNRESET after 1234 of 4096 bytes');
    nl.close();
    await net.close();
  });

  it('our sender on a real link: its counters without the wire part', async () => {
    const { net, a, b, eb, nl, cs } = await pair();
    const line = await diagnoseStall({ ...EV, size: 5000 }, { a, b, nl, bindingId: 0, conn: null, cs, rxq: eb.rxQueues[0]!, wire: null });
    assert.equal(line, 'no progress for 30 s (real time): 1234 of 5000 bytes delivered; sender: 0 segments retransmitted, 0 timeouts');
    nl.close();
    await net.close();
  });

  it('corrupted frames are named next to the losses; a quiet network is said to be quiet', async () => {
    const { net, a, b, eb, nl, cs } = await pair();
    const wire = { aToB: { frames: 10, lost: 1, corrupted: 3 }, bToA: { frames: 4, lost: 0, corrupted: 1 } };
    const line = await diagnoseStall({ ...EV, size: 5000 }, { a, b, nl, bindingId: 0, conn: null, cs, rxq: eb.rxQueues[0]!, wire });
    assert.equal(
      line,
      'no progress for 30 s (virtual): 1234 of 5000 bytes delivered; sender: 0 segments retransmitted, 0 timeouts; wire lost 1 of 14 frames (both directions); ' +
        'wire corrupted 4 frames (bad FCS, dropped by the NIC); the network went quiet (no frame sent since the last delivered byte)',
    );
    nl.close();
    await net.close();
  });

  it('devmem demo --corrupt 0.3 --size 1M: if it stalls, the diagnosis names the corruption', async () => {
    const r = await runTransfer({ ...DEFAULT_TRANSFER, size: 1 << 20, corrupt: 0.3 });
    if (r.completed) {
      assert.equal(r.validated, true);
      return;
    }
    assert.match(r.failure!, /wire corrupted [1-9]\d* frames \(bad FCS, dropped by the NIC\)/);
    assert.ok(r.packets.wireCorrupted > 0);
  });

  it('devmem demo --mtu 88: segments larger than the MTU never reach the wire; FragFails named (or the run completes)', async () => {
    const r = await runTransfer({ ...DEFAULT_TRANSFER, size: 64 << 10, mtu: 88 });
    if (r.completed) {
      assert.equal(r.validated, true);
      return;
    }
    assert.match(r.failure!, /sender's IP dropped [1-9]\d* packets larger than the MTU \(FragFails\)/);
    assert.match(r.failure!, /wire lost 0 of/);
  });
});
