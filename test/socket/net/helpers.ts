/**
 * Fixtures for the Node `net` parity tests: two hosts on a simulated wire (A 10.0.0.1 / fd00::1,
 * B 10.0.0.2 / fd00::2) in virtual time, an event recorder, and small awaitables.
 */
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { makePair, type Pair } from '../../e2e/helpers.js';

export { makePair, type Pair };

const open: Pair[] = [];

/**
 * Closes every pair made since the last call: for `afterEach`, so that a failed test does not
 * leave a network running (a paused reader makes the stack probe forever in virtual time).
 */
export async function closePairs(): Promise<void> {
  for (const p of open.splice(0)) await p.net.close();
}

/** a pair with IPv6 addresses as well */
export function makeNetPair(opts: Parameters<typeof makePair>[0] = {}): Pair {
  const p = makePair(opts);
  open.push(p);
  p.a.ip.addAddress('eth0', 'fd00::1/64', { nodad: true });
  p.b.ip.addAddress('eth0', 'fd00::2/64', { nodad: true });
  return p;
}

/** records the named events of `em` in order, with a short rendering of their arguments */
export function record(em: EventEmitter, names: readonly string[]): string[] {
  const log: string[] = [];
  for (const n of names) {
    em.on(n, (...args: unknown[]) => {
      if (n === 'close' && args.length > 0) log.push(`close(${String(args[0])})`);
      else if (n === 'error') log.push(`error(${(args[0] as { code?: string }).code ?? '?'})`);
      else if (n === 'data') log.push(`data(${(args[0] as Buffer).length})`);
      else log.push(n);
    });
  }
  return log;
}

/** resolves with the first emission of `name` (rejects on 'error' unless name is 'error') */
export async function next<T = unknown[]>(em: EventEmitter, name: string): Promise<T> {
  return (await once(em, name)) as T;
}

/** collects everything a stream emits as 'data' until 'end' */
export function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (b: Buffer | string) => parts.push(typeof b === 'string' ? Buffer.from(b) : b));
  return new Promise((resolve, reject) => {
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

export const pattern = (n: number, seed = 0): Buffer => Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

/** resolves on 'close' (unlike events.once, an 'error' before it does not reject) */
export function closed(em: EventEmitter): Promise<unknown[]> {
  return new Promise((resolve) => em.once('close', (...a: unknown[]) => resolve(a)));
}
