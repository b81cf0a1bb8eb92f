/**
 * Command-line argument helpers: sizes with K/M/G suffixes, bounded numbers, and the usage error
 * that makes the command print one line and exit 2.
 */

export class UsageError extends Error {}

export function parseSize(s: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)(i?[bB])?$/.exec(s.trim());
  if (!m) throw new UsageError(`${what}: not a size: '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const v = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`${what}: out of range: '${s}'`);
  return v;
}

export function parseNumber(s: string, what: string, lo: number, hi: number, integer: boolean): number {
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    throw new UsageError(`${what}: expected ${integer ? 'an integer' : 'a number'} in ${lo}..${hi}, got '${s}'`);
  }
  return v;
}

/** a size as the user would type it: 4K, 64M, 4G (exact multiples), else plain bytes */
export function fmtSize(n: number): string {
  for (const [suffix, m] of [['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (n >= m && n % m === 0) return `${n / m}${suffix}`;
  }
  return String(n);
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

