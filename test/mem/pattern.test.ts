import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceMemory, NcdevmemPattern } from '../../src/mem/index.js';

describe('ncdevmem pattern', () => {
  it('generates 1..N-1 then newline, like `yes $(printf ...)`', () => {
    const g = new NcdevmemPattern(7);
    const b = new Uint8Array(15);
    g.generate(b, 0, 15);
    assert.deepEqual([...b], [1, 2, 3, 4, 5, 6, 10, 1, 2, 3, 4, 5, 6, 10, 1]);
  });

  it('validates across arbitrary splits and counts mismatches', () => {
    const g = new NcdevmemPattern(7);
    const dm = new DeviceMemory(1000);
    dm.fill(0, 1000, g);
    const v = new NcdevmemPattern(7);
    let bad = 0;
    for (let off = 0; off < 1000; off += 37) bad += dm.validate(off, Math.min(37, 1000 - off), v);
    assert.equal(bad, 0);
    assert.equal(dm.stats.hostBytesRead, 0);
    dm.writeFromHost(500, new Uint8Array([99]));
    const v2 = new NcdevmemPattern(7);
    assert.equal(dm.validate(0, 1000, v2), 1);
    assert.equal(v2.firstErrorAt, 500);
  });
});
