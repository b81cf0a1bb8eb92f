/**
 * SO_TIMESTAMPING transmit timestamps of a TCP socket (Linux `tcp_tx_timestamp`,
 * `skb_tstamp_tx` at the qdisc (SCM_TSTAMP_SCHED) and the driver (SCM_TSTAMP_SND), and
 * `tcp_ack_tstamp` (SCM_TSTAMP_ACK)).
 *
 * A sendmsg that queued bytes while transmit timestamps are requested records a key: the
 * sequence number of its last byte, with the socket's SO_TIMESTAMPING flags of that moment (as
 * Linux marks the write-queue tail skb). Each time a data segment carrying a key goes to IP
 * (retransmissions included) the key gets a SCHED stamp (TX_SCHED) then an SND stamp
 * (TX_SOFTWARE); when snd_una passes the key it gets an ACK stamp (TX_ACK) and is forgotten.
 * Stamps go on the socket's error queue with the segment's payload (none under OPT_TSONLY) and
 * ee_data = key − sk_tskey under OPT_ID.
 *
 * Known difference: Linux's SCHED/SND clones carry the frame headers too (skb->len at
 * dev_queue_xmit); here every stamp carries the TCP payload only.
 */
import { skbCopyBits, type SkBuff } from '../../skb/index.js';
import type { TcpSock, TcpTxTstampHook } from '../../tcp/index.js';
import {
  SCM_TSTAMP_ACK, SCM_TSTAMP_SCHED, SCM_TSTAMP_SND, SOF_TIMESTAMPING_OPT_TSONLY, SOF_TIMESTAMPING_TX_ACK,
  SOF_TIMESTAMPING_TX_SCHED, SOF_TIMESTAMPING_TX_SOFTWARE,
} from '../../uapi/index.js';
import type { ErrQueue } from './errqueue.js';

/** the socket fields a stamp reads when it is taken (sk_tsflags, sk_tskey) */
export interface TstampSock {
  readonly tsflags: number;
  readonly tskey: number;
}

export class TcpTxTstamp implements TcpTxTstampHook {
  /** pending keys (int32 sequence numbers, as TCP holds them) in send order, and their flags; [head, count) */
  private keys: number[] = [];
  private flags: number[] = [];
  /** the payload of the last transmission of each key's segment (for the ACK stamp) */
  private payloads: (Uint8Array | null)[] = [];
  private head = 0;
  /** stamps queued (tests) */
  stamps = 0;

  constructor(
    private readonly tp: TcpSock,
    private readonly sk: TstampSock,
    private readonly errq: ErrQueue,
    private readonly now: () => number,
  ) {}

  /** keys not yet acknowledged */
  get pending(): number {
    return this.keys.length - this.head;
  }

  /** tcp_tx_timestamp: the last byte `key` of a send, with the flags of that send */
  addKey(key: number, tsflags: number): void {
    const n = this.keys.length;
    // a later send whose last byte joins the same segment replaces nothing: keys are distinct
    if (n > this.head && this.keys[n - 1] === (key | 0)) {
      this.flags[n - 1] = tsflags;
      return;
    }
    this.keys.push(key | 0);
    this.flags.push(tsflags);
    this.payloads.push(null);
  }

  /** forgets the newest key (the send did not queue its last byte after all) */
  dropLastKey(key: number): void {
    const n = this.keys.length;
    if (n > this.head && this.keys[n - 1] === (key | 0)) {
      this.keys.pop();
      this.flags.pop();
      this.payloads.pop();
    }
  }

  xmit(seq: number, skb: SkBuff): void {
    const len = skb.len;
    for (let i = this.head; i < this.keys.length; i++) {
      const off = ((this.keys[i]! - seq) >>> 0);
      if (off >= len) continue;
      const f = this.flags[i]!;
      let payload: Uint8Array | null = null;
      if ((this.sk.tsflags & SOF_TIMESTAMPING_OPT_TSONLY) === 0) {
        payload = new Uint8Array(len);
        if (skbCopyBits(skb, 0, payload, 0, len) !== 0) payload = null;
      }
      this.payloads[i] = payload;
      const t = this.now();
      if (f & SOF_TIMESTAMPING_TX_SCHED) this.stamp(SCM_TSTAMP_SCHED, this.keys[i]!, t, payload);
      if (f & SOF_TIMESTAMPING_TX_SOFTWARE) this.stamp(SCM_TSTAMP_SND, this.keys[i]!, t, payload);
    }
  }

  acked(una: number): void {
    while (this.head < this.keys.length) {
      const k = this.keys[this.head]!;
      // before(key, snd_una)
      if (((k - una) | 0) >= 0) break;
      if (this.flags[this.head]! & SOF_TIMESTAMPING_TX_ACK) this.stamp(SCM_TSTAMP_ACK, k, this.now(), this.payloads[this.head]!);
      this.payloads[this.head] = null;
      this.head++;
    }
    if (this.head === this.keys.length) {
      this.keys.length = this.flags.length = this.payloads.length = 0;
      this.head = 0;
    }
  }

  private stamp(kind: number, key: number, t: number, payload: Uint8Array | null): void {
    const sk = this.sk;
    const pl = (sk.tsflags & SOF_TIMESTAMPING_OPT_TSONLY) !== 0 ? null : payload;
    if (this.errq.queueTstamp(kind, key, sk.tsflags, sk.tskey, t, pl)) this.stamps++;
  }

  /** the socket is closed: nothing more is stamped */
  detach(): void {
    if (this.tp.txTstamp === this) this.tp.txTstamp = null;
    this.keys.length = this.flags.length = this.payloads.length = 0;
    this.head = 0;
  }
}
