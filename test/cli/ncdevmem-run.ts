/**
 * Test helper: `devmem ncdevmem` run in-process against the simulated environment (SimEnv), its
 * output captured, and the host as ncdevmem left it when it handed the environment back (before
 * the environment closed): open fds past stdio, live dma-buf bindings.
 */
import assert from 'node:assert/strict';
import { runNcdevmem } from '../../src/cli/ncdevmem/index.js';
import type { NcdevmemEnv } from '../../src/cli/ncdevmem/env.js';
import { SimEnv } from '../../src/cli/ncdevmem/sim.js';
import type { Host } from '../../src/index.js';

export interface SimRun {
  code: number;
  out: string;
  err: string;
  /** stderr's non-empty lines */
  lines: string[];
  env: SimEnv;
  /** when ncdevmem was done, before the environment closed: open fds beyond stdio, live bindings */
  atEnd: { fds: number; bindings: number };
  /** wall-clock seconds the run took */
  wallS: number;
}

/**
 * Open fds past stdio whose object is still alive. (A closed NetlinkSocket leaves its fd taken
 * but defunct: the public API has no fd to close it by.)
 */
export function liveFds(h: Host): number {
  const files = h.kernel.files;
  let n = 0;
  for (let fd = 3; fd < 64; fd++) {
    const f = files.get(fd);
    if (f !== null && !f.defunct) n++;
  }
  return n;
}

/** snapshots the host into `atEnd` when ncdevmem hands its environment back */
export function watchEnd(env: NcdevmemEnv, atEnd: { fds: number; bindings: number }): void {
  const close = env.close.bind(env);
  env.close = async () => {
    atEnd.fds = liveFds(env.host);
    atEnd.bindings = env.host.kernel.bindings.size;
    await close();
  };
}

/** runs `ncdevmem <args>` (stdin: `stdin`, a string UTF-8 encoded, when given); asserts it used a SimEnv */
export async function runSim(args: string[], stdin?: string | Uint8Array): Promise<SimRun> {
  let out = '';
  let err = '';
  const seen: { env: NcdevmemEnv | null } = { env: null };
  const atEnd = { fds: -1, bindings: -1 };
  const t0 = process.hrtime.bigint();
  const sink = {
    stdout: (t: string) => (out += t),
    stderr: (t: string) => (err += t),
    ...(stdin !== undefined ? { stdin: () => Promise.resolve(typeof stdin === 'string' ? new TextEncoder().encode(stdin) : stdin) } : {}),
  };
  const code = await runNcdevmem(args, sink, (e) => {
    seen.env = e;
    watchEnd(e, atEnd);
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const env = seen.env;
  assert.ok(env instanceof SimEnv, 'the run created a simulated environment');
  return { code, out, err, lines: err.split('\n').filter((l) => l !== ''), env, atEnd, wallS };
}
