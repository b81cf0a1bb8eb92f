/**
 * `Network`: hosts, the links between their devices, and the clock that drives them.
 *
 * Virtual mode (default): a discrete-event scheduler. Nothing happens between events, so time
 * jumps to the next one; the driver runs events in slices on `setImmediate` and yields to the
 * event loop whenever the stack resolved a promise user code waits on, so `await
 * socket.recvmsg()` just works and the application runs at the virtual instant its data arrived.
 * Same seed, same program → same packets, byte for byte.
 *
 * Real mode: wall-clock timers for timeouts only; packet work is driven by I/O: a link that
 * receives frames schedules its device's NAPI-style poll (`FramePort`) on `setImmediate`, and
 * deferred work (loopback, GRO flush) never waits on a timer. Without an explicit `seed`, the
 * randomness (ISNs, ephemeral ports, secrets, MACs) is keyed from `crypto.randomBytes`, so two
 * runs never collide with the peer's TIME_WAIT state; with `seed` it is reproducible.
 *
 * Links: `network.links` holds every link kind (simulated wires from `connect`, switches from
 * `addSwitch`, `FramePort`s of user links attached by `host.addDevice(name, { link })`);
 * `network.close()` closes them all and resolves once every user link's `close()` has.
 */
import { randomBytes } from 'node:crypto';
import { Host, type HostOptions } from './host.js';
import {
  FramePort, SimSwitch, SimWire, type FrameLink, type FramePortOptions, type SimSwitchOptions, type SimWireOptions,
} from './link/index.js';
import type { NetDevice } from './netdev/index.js';
import { Rng } from './rand/index.js';
import { RealtimeScheduler, Timer, VirtualScheduler, type Scheduler, type TimerTarget } from './time/index.js';

export interface NetworkOptions {
  /** seeds every random choice; default 1 in virtual mode, a cryptographic key in real mode */
  seed?: number;
  mode?: 'virtual' | 'real';
  /**
   * Virtual mode: scheduling latency from a wakeup (data arrived for a waiting recv) to the
   * application running, in µs (default 10). Events up to that much later still run first, the
   * way NAPI batches packets before the woken task gets the CPU. 0 runs the application before
   * time moves on.
   */
  wakeupLatencyUs?: number;
}

/** any link a network holds */
export type NetworkLink = SimWire | SimSwitch | FramePort;

/** events run per slice before the driver lets the event loop breathe */
const SLICE_EVENTS = 50_000;

export class Network {
  readonly seed: number;
  readonly mode: 'virtual' | 'real';
  readonly sched: Scheduler;
  readonly rng: Rng;
  /** false in real mode without an explicit seed (randomness keyed from node:crypto) */
  readonly seeded: boolean;
  readonly hosts: Host[] = [];
  /** every link: wires, switches, attached user links (in creation order) */
  readonly links: NetworkLink[] = [];
  /** the simulated cables made by `connect` */
  readonly wires: SimWire[] = [];
  private nSwitches = 0;
  private readonly vsched: VirtualScheduler | null;
  private pumpScheduled = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private pumpError: unknown = null;
  readonly wakeupLatencyUs: number;

  constructor(opts: NetworkOptions = {}) {
    this.mode = opts.mode ?? 'virtual';
    if (opts.seed === undefined && this.mode === 'real') {
      this.rng = Rng.fromKey(randomBytes(16));
      this.seeded = false;
    } else {
      this.rng = new Rng((opts.seed ?? 1) >>> 0);
      this.seeded = true;
    }
    this.seed = this.rng.seed;
    this.wakeupLatencyUs = opts.wakeupLatencyUs ?? 10;
    if (this.mode === 'virtual') {
      const v = new VirtualScheduler();
      v.kick = () => this.schedulePump();
      this.vsched = v;
      this.sched = v;
    } else {
      this.vsched = null;
      this.sched = new RealtimeScheduler();
    }
  }

  /** current time in µs (virtual or since start) */
  get now(): number {
    return this.sched.now();
  }

  addHost(name: string, opts: HostOptions = {}): Host {
    if (this.hosts.some((h) => h.name === name)) throw new RangeError(`host ${name} exists`);
    const h = new Host(this, name, this.sched, this.rng.fork(`host:${name}`), opts);
    this.hosts.push(h);
    return h;
  }

  /** joins two devices with a simulated cable (rate, delay, MTU, seeded faults, pcap) */
  connect(a: NetDevice, b: NetDevice, opts: SimWireOptions = {}): SimWire {
    const w = new SimWire(this.sched, this.rng.fork(`wire:${this.wires.length}`), a, b, opts);
    this.wires.push(w);
    this.links.push(w);
    return w;
  }

  /** a learning switch; `sw.connect(dev, wireOpts)` cables devices to it */
  addSwitch(opts: SimSwitchOptions = {}): SimSwitch {
    if (this.closed) throw new Error('network is closed');
    const sw = new SimSwitch(this.sched, this.rng.fork(`switch:${this.nSwitches++}`), opts);
    this.links.push(sw);
    return sw;
  }

  /** `link` is attached to a device of this network (and not closed) */
  isAttached(link: FrameLink): boolean {
    for (const l of this.links) if (l instanceof FramePort && l.link === link && !l.isClosed) return true;
    return false;
  }

  /**
   * Attaches a user `FrameLink` to `dev` through a `FramePort` (what `host.addDevice(name,
   * { link })` does). A link attaches to one device only.
   */
  attachLink(dev: NetDevice, link: FrameLink, opts: FramePortOptions = {}): FramePort {
    if (this.closed) throw new Error('network is closed');
    if (dev.link !== null) throw new RangeError(`${dev.name} already has a link`);
    if (this.isAttached(link)) throw new RangeError('link already attached');
    const port = new FramePort(dev, link, this.sched, opts);
    this.links.push(port);
    return port;
  }

  // ---- driving virtual time ----

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(this.pump);
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    const s = this.vsched!;
    s.takeWakeups();
    const latency = this.wakeupLatencyUs;
    let wokeAt = -1;
    let n = 0;
    try {
      for (;;) {
        if (this.closed) return;
        if (wokeAt >= 0) {
          // somebody's promise resolved: let the application run once the events within its
          // scheduling latency have run
          const next = s.nextDeadline();
          if (next < 0 || next > wokeAt + latency) {
            this.schedulePump();
            return;
          }
        }
        if (!s.step()) {
          s.rearmKick();
          if (s.pending > 0) continue;
          this.notifyIdle();
          return;
        }
        if (s.takeWakeups() > 0 && wokeAt < 0) wokeAt = s.now();
        if (++n >= SLICE_EVENTS) {
          this.schedulePump();
          return;
        }
      }
    } catch (err) {
      this.pumpError = err;
      this.closed = true;
      this.notifyIdle();
      // surface the bug: an exception inside the stack is never expected
      throw err;
    }
  };

  private notifyIdle(): void {
    const ws = this.idleWaiters.splice(0);
    for (const w of ws) w();
  }

  /** resolves when no event is pending (virtual mode) */
  idle(): Promise<void> {
    if (this.vsched === null || (this.vsched.pending === 0 && !this.pumpScheduled)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Runs events synchronously until none is pending, `limitUs` of virtual time has passed, or
   * `maxEvents` fired; returns the number fired. For tests that do not await.
   */
  runUntilIdle(limitUs = Number.MAX_SAFE_INTEGER, maxEvents = 50_000_000): number {
    const s = this.requireVirtual();
    const end = s.now() + limitUs;
    let n = 0;
    while (n < maxEvents && s.step(end)) n++;
    return n;
  }

  /** runs events synchronously for `us` of virtual time, then sets the clock to the end */
  runFor(us: number): number {
    const s = this.requireVirtual();
    const end = s.now() + us;
    let n = 0;
    while (s.step(end)) n++;
    s.advanceTo(end);
    return n;
  }

  /** resolves after `us` microseconds of network time (virtual or real) */
  sleep(us: number): Promise<void> {
    return new Promise((resolve) => {
      const sched = this.sched;
      const target: TimerTarget = {
        onTimer: () => {
          sched.noteWakeup();
          resolve();
        },
      };
      sched.arm(new Timer(target, 0), sched.now() + Math.max(0, us));
    });
  }

  /**
   * Virtual mode: calls `fn(atUs)` on a grid of instants `everyUs` apart (the first `everyUs`
   * from now), each time the clock moves past a grid point (for the first and the last point the
   * move passes: nothing happens in between, so the counters read now are those at `atUs`); `fn`
   * returns the next spacing. Not an event: the run is exactly the run without it (for samplers
   * that only read). One observer at a time; returns the function that removes it.
   */
  observe(everyUs: number, fn: (atUs: number) => number): () => void {
    const s = this.requireVirtual();
    s.setObserver(s.now() + everyUs, everyUs, fn);
    return () => s.setObserver(0, 0, null);
  }

  /** an error thrown by the stack while the driver ran events, if any */
  get error(): unknown {
    return this.pumpError;
  }

  private requireVirtual(): VirtualScheduler {
    if (this.vsched === null) throw new Error('only a virtual-time network can be stepped');
    return this.vsched;
  }

  /**
   * Stops the driver, shuts the hosts down (sockets fail, netlink sockets close), closes every
   * link (flushing pcap files) and the real-time scheduler. Everything simulated is settled when
   * it returns; the promise resolves once every user link's `close()` has (safe to ignore when
   * no user link is attached). Idempotent: later calls return the same promise.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    for (const h of this.hosts) h.shutdown();
    const waits: Promise<void>[] = [];
    for (const l of this.links) {
      if (l instanceof FramePort) waits.push(l.close());
      else l.close();
    }
    this.closed = true;
    if (this.sched instanceof RealtimeScheduler) this.sched.close();
    this.notifyIdle();
    this.closing = Promise.all(waits).then(() => undefined);
    return this.closing;
  }
}
