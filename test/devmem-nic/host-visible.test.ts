// Issue 8 item 6: a falsifiable "the host never read the payload". DeviceMemory counts every
// device-to-host transfer of device bytes (`stats.hostVisibleBytes`: DMA reads for the wire,
// linearization, staged copies) apart from the application's copyToHost; the demo's figure
// (`hostPayloadBytesRead`) is built on it. Negative runs stay at 0; runs that deliberately read
// device memory through the stack see the figure move by exactly the bytes read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TRANSFER, runTransfer, type TransferView } from '../../src/cli/transfer.js';
import { linearizeFrame } from '../../src/link/linearize.js';
import type { PacketTap } from '../../src/netdev/index.js';

const SIZE = 512 * 1024;

describe('host-visible device bytes', () => {
  it('a receive-only devmem run: the figure is 0 (negative control)', async () => {
    const r = await runTransfer({ ...DEFAULT_TRANSFER, size: SIZE, dmabufSize: 8 << 20 });
    assert.equal(r.validated, true);
    assert.ok(r.dmabufBytes > 0, 'payload went to device memory');
    assert.equal(r.hostVisiblePayloadBytes, 0);
    assert.equal(r.hostPayloadBytesRead, 0);
  });

  it('positive control: a tap that linearizes every unreadable rx frame moves the figure by exactly those device bytes', async () => {
    let read = 0;
    const probe = {
      start(v: TransferView): void {
        const tap: PacketTap = {
          tap(skb, dir) {
            if (dir !== 'rx' || !skb.unreadable) return;
            // a stack component (the link layer's linearization) reading device memory on purpose
            linearizeFrame(skb, new Uint8Array(skb.len), 0);
            read += skb.dataLen;
          },
        };
        v.devB.taps.push(tap);
      },
      stop(): void {},
    };
    const r = await runTransfer({ ...DEFAULT_TRANSFER, size: SIZE, dmabufSize: 8 << 20, probe });
    assert.equal(r.validated, true);
    assert.ok(read > 0, 'the tap saw device frames');
    assert.equal(r.hostVisiblePayloadBytes, read, 'every byte the tap pulled out of the device is counted');
    assert.equal(r.hostPayloadBytesRead, read, 'and the demo figure moves with it');
  });
});
