/**
 * A plain-object TCP socket view for the congestion-control and recovery unit tests: every
 * CongSock / PrrSock / CwndValidateSock field as a writable property with Linux's initial
 * values (cwnd 10, ssthresh infinite, min_rtt unset).
 */
import { CaState, type CongSock } from '../../../src/tcp/cong/types.js';
import type { PrrSock } from '../../../src/tcp/recovery/prr.js';
import type { CwndValidateSock } from '../../../src/tcp/cong/cwnd.js';

export class FakeSock implements CongSock, PrrSock, CwndValidateSock {
  sndCwnd = 10;
  sndSsthresh = 0x7fffffff;
  sndCwndCnt = 0;
  sndCwndClamp = 0xffffffff;
  mss = 1000;
  packetsInFlight = 0;
  isCwndLimited = true;
  srttUs = 0;
  minRttUs = 0xffffffff;
  delivered = 0;
  nowUs = 0;
  sndNxt = 0;
  sndUna = 0;
  caState: CaState = CaState.Open;
  priorCwnd = 0;
  lsndtimeMs = 0;
  pacingRate = 0;
  pacingEnabled = false;
  gsoMaxSize = 65536;
  prrDelivered = 0;
  prrOut = 0;
  highSeq = 0;
  tlpHighSeq = 0;
  priorSsthresh = 0;
  packetsOut = 0;
  rtoMs = 200;
  initCwnd = 10;
  sndBufAvailable = true;

  /** tcp_jiffies32: the µs clock in ms */
  get nowMs(): number {
    return Math.floor(this.nowUs / 1000) >>> 0;
  }

  constructor(init: Partial<FakeSock> = {}) {
    Object.assign(this, init);
  }
}
