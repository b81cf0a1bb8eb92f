/**
 * `SimSwitch`: a store-and-forward learning Ethernet switch in virtual time. Each `connect(dev)`
 * adds a port joined to the device by a simulated cable: two `SimWireDirection`s (device →
 * switch, installed as `dev.link`, and switch → device) with the usual `SimWireOptions` (rate,
 * delay, MTU, queue limit, faults), each drawing from its own stream (two `nextU32()` draws of
 * the switch's `Rng` per `connect`, in connect order).
 *
 * Forwarding: a frame that arrived whole on a port (a bad FCS is dropped: `fcsDrops`) teaches
 * the forwarding database its source MAC (unicast sources only; entries age out `ageUs` after
 * the source was last seen; a full table learns nothing new). Broadcast/multicast and unknown or
 * aged-out unicast destinations are flooded to every other port; a known destination goes to its
 * port, or is filtered when that is the port it came in on. The switch copies the frame once
 * into its own buffer and sends one skb per egress port wrapping that (read-only, shared) buffer;
 * each egress cable then serializes it again, so a frame crossing the switch pays two
 * serialization times and two propagation delays.
 *
 * Capture (`pcap`): as for `SimWire`, an rx `PcapTap` on every connected device, so a flooded
 * frame shows once per device that received it.
 */
import { MemSpace } from '../mem/index.js';
import type { NetDevice } from '../netdev/index.js';
import { Rng } from '../rand/index.js';
import { SkbCache, skbCopyBits, type SkBuff } from '../skb/index.js';
import type { Instant, Scheduler } from '../time/index.js';
import { ETH_HLEN } from '../wire/ethernet.js';
import { PcapTap } from './pcap-tap.js';
import { PcapWriter } from './pcap-writer.js';
import { SimWireDirection, resolveWireParams, type FrameSink, type SimWireDirStats, type SimWireOptions } from './sim-wire.js';

export interface SimSwitchOptions {
  /** a learned entry expires this long after its source was last seen; default 300 s */
  ageUs?: number;
  /** forwarding database capacity; default 4096 */
  fdbSize?: number;
  /** capture file path (opened and closed by the switch) or a writer (the caller closes it) */
  pcap?: string | PcapWriter;
}

export interface SimSwitchStats {
  /** frames that reached the switch (including bad-FCS ones) */
  received: number;
  /** unicast frames sent out of their one known port */
  forwarded: number;
  /** frames sent out of every other port */
  flooded: number;
  /** frames whose destination sits behind the port they came in on */
  filtered: number;
  /** frames dropped for a bad FCS */
  fcsDrops: number;
  /** frames shorter than an Ethernet header */
  runts: number;
}

class FdbEntry {
  constructor(public port: number, public lastSeen: Instant) {}
}

/** one switch port and the cable to its device */
export class SwitchPort implements FrameSink {
  /** device → switch (installed as `dev.link`) */
  readonly up: SimWireDirection;
  /** switch → device */
  readonly down: SimWireDirection;
  readonly stats: { readonly toSwitch: SimWireDirStats; readonly toDevice: SimWireDirStats };

  constructor(
    private readonly sw: SimSwitch,
    readonly index: number,
    readonly dev: NetDevice,
    opts: SimWireOptions,
    rng: Rng,
  ) {
    const p = resolveWireParams(opts);
    const seedUp = rng.nextU32();
    const seedDown = rng.nextU32();
    this.up = new SimWireDirection(sw.sched, new Rng(seedUp), p, dev.skbs, this);
    this.down = new SimWireDirection(sw.sched, new Rng(seedDown), p, sw.skbs, dev);
    this.stats = { toSwitch: this.up.stats, toDevice: this.down.stats };
  }

  /** a frame arrives at the switch on this port (borrowed) */
  receiveFrame(frame: SkBuff, fcsOk: boolean): void {
    this.sw.ingress(this, frame, fcsOk);
  }
}

export class SimSwitch {
  readonly ports: SwitchPort[] = [];
  readonly stats: SimSwitchStats = { received: 0, forwarded: 0, flooded: 0, filtered: 0, fcsDrops: 0, runts: 0 };
  /** the switch's own buffer memory (frame copies) */
  readonly mem = new MemSpace();
  readonly skbs = new SkbCache(this.mem);
  readonly pcap: PcapWriter | null;
  private readonly fdb = new Map<number, FdbEntry>();
  private readonly ageUs: number;
  private readonly fdbSize: number;
  private readonly ownsPcap: boolean;
  private readonly tap: PcapTap | null;
  private readonly scratch = new Uint8Array(ETH_HLEN);
  private readonly scratchDv = new DataView(this.scratch.buffer);
  private closed = false;

  constructor(readonly sched: Scheduler, private readonly rng: Rng, opts: SimSwitchOptions = {}) {
    const age = opts.ageUs ?? 300_000_000;
    if (!(age >= 0 && Number.isFinite(age))) throw new RangeError(`ageUs must be a finite number >= 0, got ${age}`);
    const size = opts.fdbSize ?? 4096;
    if (!(Number.isInteger(size) && size >= 0)) throw new RangeError(`fdbSize must be a non-negative integer, got ${size}`);
    this.ageUs = age;
    this.fdbSize = size;
    if (opts.pcap !== undefined) {
      this.ownsPcap = typeof opts.pcap === 'string';
      this.pcap = typeof opts.pcap === 'string' ? PcapWriter.open(opts.pcap) : opts.pcap;
      this.tap = new PcapTap(this.pcap, sched, 'rx');
    } else {
      this.ownsPcap = false;
      this.pcap = null;
      this.tap = null;
    }
  }

  /** adds a port cabled to `dev` (which gets it as `dev.link`) */
  connect(dev: NetDevice, opts: SimWireOptions = {}): SwitchPort {
    if (this.closed) throw new Error('switch is closed');
    if (this.ports.some((p) => p.dev === dev)) throw new RangeError(`${dev.name} is already connected`);
    const port = new SwitchPort(this, this.ports.length, dev, opts, this.rng);
    this.ports.push(port);
    dev.link = port.up;
    if (this.tap !== null) this.tap.attach(dev);
    return port;
  }

  /** the port `mac` was learned on (and has not aged out), or -1 */
  lookup(mac: number): number {
    const e = this.fdb.get(mac);
    if (e === undefined || this.sched.now() - e.lastSeen > this.ageUs) return -1;
    return e.port;
  }

  /** learned entries (including aged-out ones not yet evicted) */
  get fdbEntries(): number {
    return this.fdb.size;
  }

  /** forwards frame `frame` (borrowed) that arrived on `inPort` */
  ingress(inPort: SwitchPort, frame: SkBuff, fcsOk: boolean): void {
    const st = this.stats;
    st.received++;
    if (this.closed) return;
    if (!fcsOk) {
      st.fcsDrops++;
      return;
    }
    const len = frame.len;
    if (len < ETH_HLEN || skbCopyBits(frame, 0, this.scratch, 0, ETH_HLEN) !== 0) {
      st.runts++;
      return;
    }
    const dv = this.scratchDv;
    const dst = dv.getUint16(0) * 0x100000000 + dv.getUint32(2);
    const src = dv.getUint16(6) * 0x100000000 + dv.getUint32(8);
    const now = this.sched.now();
    // learn
    if ((this.scratch[6]! & 1) === 0) {
      const e = this.fdb.get(src);
      if (e !== undefined) {
        e.port = inPort.index;
        e.lastSeen = now;
      } else if (this.fdb.size < this.fdbSize) {
        this.fdb.set(src, new FdbEntry(inPort.index, now));
      }
    }
    // decide
    let out = -1;
    if ((this.scratch[0]! & 1) === 0) {
      const e = this.fdb.get(dst);
      if (e !== undefined) {
        if (now - e.lastSeen > this.ageUs) this.fdb.delete(dst);
        else out = e.port;
      }
    }
    if (out === inPort.index) {
      st.filtered++;
      return;
    }
    // store: one copy shared (read-only) by every egress skb
    const buf = new Uint8Array(len);
    skbCopyBits(frame, 0, buf, 0, len);
    const bdv = new DataView(buf.buffer);
    if (out >= 0) {
      st.forwarded++;
      this.ports[out]!.down.send(this.skbs.wrap(buf, bdv));
      return;
    }
    st.flooded++;
    for (let i = 0; i < this.ports.length; i++) {
      if (i !== inPort.index) this.ports[i]!.down.send(this.skbs.wrap(buf, bdv));
    }
  }

  /**
   * Drops every frame in flight on every cable, detaches from the devices, removes the capture
   * taps and closes a capture file the switch opened. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.ports) {
      p.up.close();
      p.down.close();
      if (p.dev.link === p.up) p.dev.link = null;
      if (this.tap !== null) this.tap.detach(p.dev);
    }
    if (this.ownsPcap && this.pcap !== null) this.pcap.close();
  }
}
