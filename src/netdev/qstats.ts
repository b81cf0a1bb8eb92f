/**
 * Per-queue statistics with the netlink `qstats` names (camelCase), and device-level error
 * counters (what `ip -s link` and `ethtool -S` show).
 */

export interface RxQueueStats {
  rxPackets: number;
  rxBytes: number;
  rxAllocFail: number;
  rxHwDrops: number;
  rxHwDropOverruns: number;
  rxCsumComplete: number;
  rxCsumUnnecessary: number;
  rxCsumNone: number;
  rxCsumBad: number;
}

export interface TxQueueStats {
  txPackets: number;
  txBytes: number;
  txHwDrops: number;
  txHwDropErrors: number;
  txCsumNone: number;
  txNeedsCsum: number;
  txHwGsoPackets: number;
  txHwGsoBytes: number;
  txHwGsoWirePackets: number;
  txHwGsoWireBytes: number;
  txStop: number;
  txWake: number;
}

export function newRxQueueStats(): RxQueueStats {
  return {
    rxPackets: 0, rxBytes: 0, rxAllocFail: 0, rxHwDrops: 0, rxHwDropOverruns: 0,
    rxCsumComplete: 0, rxCsumUnnecessary: 0, rxCsumNone: 0, rxCsumBad: 0,
  };
}

export function newTxQueueStats(): TxQueueStats {
  return { txPackets: 0, txBytes: 0, txHwDrops: 0, txHwDropErrors: 0, txCsumNone: 0, txNeedsCsum: 0, txHwGsoPackets: 0, txHwGsoBytes: 0, txHwGsoWirePackets: 0,
    txHwGsoWireBytes: 0, txStop: 0, txWake: 0,
  };
}

/** device-level counters: malformed or undeliverable frames the NIC dropped */
export interface DeviceCounters {
  /** frames shorter than an Ethernet header or longer than the MTU allows */
  rxLengthErrors: number;
  /** frames with a bad FCS (corrupted on the wire) */
  rxCrcErrors: number;
  /** frames steered to a drop rule or with nowhere to go */
  rxDropped: number;
  /** frames the device could not send (no link, down, too long) */
  txDropped: number;
  /** frames the stack above refused (no handler) */
  rxNoHandler: number;
  /** unreadable skbs dropped by the transmit check (no netmem TX, or frag 0 of another device's binding); also in txDropped */
  txUnreadableDrops: number;
}

export function newDeviceCounters(): DeviceCounters {
  return { rxLengthErrors: 0, rxCrcErrors: 0, rxDropped: 0, txDropped: 0, rxNoHandler: 0, txUnreadableDrops: 0 };
}
