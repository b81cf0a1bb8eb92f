// Shared scaffolding of the interop test files: one NetnsHarness per file (made before, torn down
// after, asserting nothing named PREFIX* is left), the per-test readiness check (root + the
// kernel tools the file needs, else skip, or fail under CI), a free UDP port on loopback, and
// `devmem ncdevmem` as a tracked child process with a kill deadline.
import { after, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { NetnsHarness, PREFIX, interopSupport, leftovers, missingTools, skipOrFail, sweepStale } from './netns.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * Registers the file's before/after hooks and returns `ready(t, ...more)`: the harness when this
 * machine can run the test and has every one of `tools` and `more` (else null, the test skipped
 * with `hint`, or `hint(missing)`). `hooks.setup` runs after the harness is made (supported
 * machines only), `hooks.cleanup` first thing in the after hook.
 */
export function interopSuite(
  tools: string[],
  hint: string | ((missing: string[]) => string),
  hooks: { setup?: () => void; cleanup?: () => void } = {},
): (t: TestContext, ...more: string[]) => NetnsHarness | null {
  let h: NetnsHarness | null = null;
  before(() => {
    if (!interopSupport().ok) return;
    sweepStale();
    h = new NetnsHarness();
    hooks.setup?.();
  });
  after(() => {
    hooks.cleanup?.();
    if (!h) return;
    h.teardown();
    assert.deepEqual(leftovers(), [], `nothing named ${PREFIX}* is left behind`);
  });
  return (t, ...more) => {
    const s = interopSupport();
    if (!s.ok) {
      skipOrFail(t, s.reason);
      return null;
    }
    const miss = missingTools(...tools, ...more);
    if (miss.length) {
      skipOrFail(t, `missing ${miss.join(', ')} (${typeof hint === 'string' ? hint : hint(miss)})`);
      return null;
    }
    return h;
  };
}

/** a UDP port free right now on `address` (bound and released; the race on loopback is harmless) */
export async function freePort(type: 'udp4' | 'udp6', address: string): Promise<number> {
  const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  await new Promise<void>((resolve) => s.bind(0, address, () => resolve()));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface NcdevmemChild {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved as they came */
  readonly out: string;
  exited: Promise<number | null>;
}

/** spawns `devmem ncdevmem <args>` tracked by `hh` (killed at teardown); `input` goes to stdin, then EOF */
export function spawnNcdevmem(hh: NetnsHarness, args: string[], input?: string): NcdevmemChild {
  const child = spawn(process.execPath, [MAIN, 'ncdevmem', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  hh.track(child);
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  child.stdin.end(input);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, get out() { return out; }, exited };
}

/** `expired` resolves null after `ms`, SIGKILLing `victims` first; `clear()` disarms it */
export function deadline(ms: number, victims: ChildProcess[]): { expired: Promise<null>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      for (const v of victims) v.kill('SIGKILL');
      resolve(null);
    }, ms);
  });
  return { expired, clear: () => clearTimeout(timer) };
}
