/**
 * `setsockopt(SOL_SOCKET, SO_TIMESTAMPING)` (Linux `sock_set_timestamping`, 6.12): validates the
 * flags, sets the OPT_ID key base (`sk_tskey`) when OPT_ID is newly turned on, stores the flags
 * (`sk_tsflags`) and lets the socket install its transmit-timestamp hook. The value is an int or a
 * `struct so_timestamping { int flags; int bind_phc; }`.
 */
import {
  ERRNO, SOF_TIMESTAMPING_BIND_PHC, SOF_TIMESTAMPING_MASK, SOF_TIMESTAMPING_OPT_ID, SOF_TIMESTAMPING_OPT_ID_TCP,
  SOF_TIMESTAMPING_OPT_STATS, SOF_TIMESTAMPING_OPT_TSONLY, SOF_TIMESTAMPING_TX_RECORD_MASK,
} from '../../uapi/index.js';

/** what a socket offers the option */
export interface TstampOwner {
  tsflags: number;
  tskey: number;
  /** the OPT_ID base (TCP: snd_una, or write_seq with OPT_ID_TCP; datagrams: 0), null = EINVAL */
  tstampBase(optIdTcp: boolean): number | null;
  /** transmit timestamps were requested */
  tstampEnableTx(): void;
}

/** → 0 or -errno */
export function setTimestamping(sk: TstampOwner, v: number, raw: Uint8Array | null): number {
  let val = v;
  if (raw !== null && raw.length >= 4) val = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getInt32(0, true);
  if ((val & ~SOF_TIMESTAMPING_MASK) !== 0) return -ERRNO.EINVAL;
  if ((val & SOF_TIMESTAMPING_OPT_ID_TCP) !== 0 && (val & SOF_TIMESTAMPING_OPT_ID) === 0) return -ERRNO.EINVAL;
  let base: number | null = null;
  if ((val & SOF_TIMESTAMPING_OPT_ID) !== 0 && (sk.tsflags & SOF_TIMESTAMPING_OPT_ID) === 0) {
    base = sk.tstampBase((val & SOF_TIMESTAMPING_OPT_ID_TCP) !== 0);
    if (base === null) return -ERRNO.EINVAL;
  }
  if ((val & SOF_TIMESTAMPING_OPT_STATS) !== 0 && (val & SOF_TIMESTAMPING_OPT_TSONLY) === 0) return -ERRNO.EINVAL;
  // no PTP hardware clock to bind to (sock_timestamping_bind_phc)
  if ((val & SOF_TIMESTAMPING_BIND_PHC) !== 0) return -ERRNO.EOPNOTSUPP;
  if (base !== null) sk.tskey = base >>> 0;
  sk.tsflags = val;
  if ((val & SOF_TIMESTAMPING_TX_RECORD_MASK) !== 0) sk.tstampEnableTx();
  return 0;
}
