/**
 * A bounded table of samples taken at a regular virtual-time interval: one Float64Array per
 * column, `capacity` rows at most. When the table is full the interval doubles and every other
 * row is dropped (row 0 kept), so a run of any length ends with between capacity/2 and capacity
 * evenly spaced rows, and memory stays fixed. Columns hold raw readings: cumulative counters stay
 * cumulative (a rate is a difference of two kept rows, still exact after decimation); gauges are
 * the value at the sample instant. The final row (`push` with `final`) may be closer to its
 * predecessor than the interval: the end of the run is always kept.
 */

export class SampleTable<K extends string> {
  readonly columns: readonly K[];
  /** µs of virtual time between two kept rows */
  intervalUs: number;
  private readonly cols: Float64Array[];
  private n = 0;
  /** rows dropped by decimation (a test sees the table was really squeezed) */
  decimations = 0;

  constructor(columns: readonly K[], readonly capacity: number, intervalUs: number) {
    if (capacity < 4 || capacity % 2 !== 0) throw new RangeError(`capacity must be even and >= 4, got ${capacity}`);
    if (!(intervalUs > 0)) throw new RangeError(`interval must be > 0, got ${intervalUs}`);
    this.columns = columns;
    this.intervalUs = intervalUs;
    this.cols = columns.map(() => new Float64Array(capacity));
  }

  get length(): number {
    return this.n;
  }

  /**
   * appends one row (values in `columns` order, read from `row`); returns true when the caller
   * should now sample every `intervalUs` (it doubled)
   */
  push(row: Readonly<Record<K, number>>): boolean {
    let squeezed = false;
    if (this.n === this.capacity) {
      this.decimate();
      squeezed = true;
    }
    const i = this.n++;
    for (let c = 0; c < this.columns.length; c++) this.cols[c]![i] = row[this.columns[c]!];
    return squeezed;
  }

  /** keeps rows 0, 2, 4, …: the spacing doubles and stays even */
  private decimate(): void {
    const keep = this.n >> 1;
    for (const col of this.cols) {
      for (let i = 1; i < keep; i++) col[i] = col[2 * i]!;
    }
    this.n = keep;
    this.intervalUs *= 2;
    this.decimations++;
  }

  /** the kept values of one column, oldest first (a copy) */
  column(name: K): number[] {
    const c = this.columns.indexOf(name);
    if (c < 0) throw new RangeError(`no column ${name}`);
    return Array.from(this.cols[c]!.subarray(0, this.n));
  }
}
