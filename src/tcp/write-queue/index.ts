/**
 * The TCP write queue (Linux sk_write_queue and the payload of tcp_rtx_queue): records over a
 * frag ring, copied bytes and caller-owned memory (zerocopy pages, devmem net_iovs), and the
 * queueing half of tcp_sendmsg / tcp_push. See write-queue.ts and sendmsg.ts.
 */
export { WriteQueue, WqSkb, WQ_SKB_OVERHEAD } from './write-queue.js';
export {
  TCP_MEM_RESERVE_PAGES, tcpForcedPush, tcpMarkPush, tcpPush, tcpSendMss, tcpSendSpace, tcpSendmsg, tcpSendmsgBegin,
  tcpSendmsgEnd, tcpSendmsgFrag, tcpStreamMemoryFree,
} from './sendmsg.js';
