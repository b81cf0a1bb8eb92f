/**
 * A progress watchdog on a network's clock: `devmem ncdevmem` (server and client) and the
 * bench's simulated rows arm one over a transfer; it settles `stalled` when the watched counter
 * (bytes delivered, bytes acknowledged) stayed the same for `stallUs` of network time (virtual in
 * the simulation, so a stall is found within seconds of wall time however long the stack would
 * back off; real on a link). It reads the counter once per tick (`stallUs / 10`, at least 1 ms),
 * never per packet: one timer on the clock, nothing on the data path. The diagnosis of a stall is
 * the demo's (`../demo/diagnose.ts`), built by the caller from the stack's counters.
 *
 * The watchdog owns its timer loop: `stop()` ends it at its next tick (the pending sleep of a
 * closed network never resolves, which leaves nothing behind). `stalled` never rejects.
 */

/** the clock a watchdog runs on: a `Network` (or any build's network with `now` and `sleep`) */
export interface WatchClock {
  /** network time, µs */
  readonly now: number;
  sleep(us: number): Promise<void>;
}

/** what the watchdog saw when it fired */
export interface StallSeen {
  /** the no-progress time that fired it, µs */
  stallUs: number;
  /** the counter's value (unchanged for stallUs) */
  progress: number;
  /** how much the activity counter (frames offered to the wire) moved since the last progress */
  quietActivity: number;
}

/** default no-progress time before a run fails: 30 s of network time (the demo's default) */
export const DEFAULT_STALL_US = 30_000_000;

export class ProgressWatchdog {
  /** settles once, when the counter did not move for stallUs; never rejects */
  readonly stalled: Promise<StallSeen>;
  private stopped = false;
  private fire: (s: StallSeen) => void = () => undefined;

  /**
   * @param progress the counter that must move (read once per tick)
   * @param activity a second counter (frames on the wire) reported as `quietActivity`, optional
   */
  constructor(
    private readonly clock: WatchClock,
    readonly stallUs: number,
    private readonly progress: () => number,
    private readonly activity: () => number = () => 0,
  ) {
    if (!(stallUs > 0)) throw new RangeError(`stallUs must be positive, got ${stallUs}`);
    this.stalled = new Promise<StallSeen>((resolve) => {
      this.fire = resolve;
    });
    void this.loop();
  }

  /** the watchdog stops looking; `stalled` stays pending if it had not fired */
  stop(): void {
    this.stopped = true;
  }

  get running(): boolean {
    return !this.stopped;
  }

  private async loop(): Promise<void> {
    const tickUs = Math.max(1000, Math.floor(this.stallUs / 10));
    let last = this.progress();
    let lastMoveUs = this.clock.now;
    let activityAtMove = this.activity();
    while (!this.stopped) {
      await this.clock.sleep(tickUs);
      if (this.stopped) return;
      const p = this.progress();
      if (p !== last) {
        last = p;
        lastMoveUs = this.clock.now;
        activityAtMove = this.activity();
      } else if (this.clock.now - lastMoveUs >= this.stallUs) {
        this.stopped = true;
        this.fire({ stallUs: this.stallUs, progress: p, quietActivity: this.activity() - activityAtMove });
        return;
      }
    }
  }
}

/** thrown (as a rejection) into a wait that the watchdog ended; `message` is the diagnosis */
export class StallError extends Error {
  constructor(diagnosis: string) {
    super(diagnosis);
    this.name = 'StallError';
  }
}

/**
 * Races waits against a stall: `race(p)` settles as `p` does, or rejects with a `StallError`
 * carrying the diagnosis once the watchdog fired and `diagnose` built it. `failed` is that same
 * rejection, for a caller that waits on something else (it never counts as unhandled).
 */
export class StallRace {
  readonly failed: Promise<never>;
  /** the diagnosis, once the watchdog fired and it was built */
  diagnosis: string | null = null;

  constructor(
    readonly watchdog: ProgressWatchdog,
    diagnose: (seen: StallSeen) => Promise<string>,
  ) {
    this.failed = watchdog.stalled.then(async (seen) => {
      let line: string;
      try {
        line = await diagnose(seen);
      } catch (e) {
        // the counters could not be read (a build without them): the stall itself is still true
        line = `no progress for ${fmtSeconds(seen.stallUs)} s: ${seen.progress} bytes (${e instanceof Error ? e.message : String(e)})`;
      }
      this.diagnosis = line;
      throw new StallError(line);
    });
    this.failed.catch(() => undefined);
  }

  /** p, unless the run stalls first */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failed]);
  }

  stop(): void {
    this.watchdog.stop();
  }
}

/** seconds as the diagnosis prints them: "30", "0.5" */
export function fmtSeconds(us: number): string {
  return (us / 1e6).toFixed(us % 1e6 === 0 ? 0 : 1);
}
