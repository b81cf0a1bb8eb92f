/** Order statistics of a bench row's samples (median, quartiles, extremes). */

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** first and third quartiles (linear interpolation between order statistics) */
  q1: number;
  q3: number;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, q1: NaN, q3: NaN };
  const s = [...samples].sort((x, y) => x - y);
  return { median: quantile(s, 0.5), min: s[0]!, max: s[s.length - 1]!, q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}
