/**
 * devmem-tcp: a userspace TCP/IP stack that implements Linux device-memory TCP. The public API:
 * `Network` (hosts, links, virtual or real time), `Host` (devices, IPv4 and IPv6 configuration,
 * fd-level system calls, TCP and UDP sockets, netlink, ethtool, device memory, counters),
 * `Socket`, `InetAddr`, the uAPI constants as `constants`, and `ErrnoError`.
 */
import * as constants from './uapi/constants.js';

export { constants };
export { ERRNO, ErrnoError, errnoName, type Extack } from './uapi/errno.js';
export { Network, type NetworkOptions, type NetworkLink } from './network.js';
export { Host, Ethtool, type HostOptions, type AddDeviceOptions, type HostSnmp } from './host.js';
export { InetAddr, type Addr } from './inet/index.js';
export { Socket, NetSocket, NetServer, type NetApi, type NetSocketOptions, type NetServerOptions, type NetConnectOpts, type NetListenOpts, type NetAddressInfo, type RecvmsgOptions, type RecvmsgResult, type SockAddr, type ZerocopySendResult } from './socket/index.js';
export { decodeSockExtendedErr, decodeScmTimestamping, type SockExtendedErr } from './socket/index.js';
export { decodeCmsgs, encodeDmabufTokens, devmemChunks, DevmemBatch, type Cmsg, type DmabufTokenRange, type DevmemChunk, type DevmemChunksOptions } from './socket/index.js';
export { encodeSendCmsg, devmemTxControl, type SendCmsg, type DevmemIov, type DevmemIovInput } from './socket/index.js';
export { Syscalls, MsgHdr, SockOptVal, RecvInfo, encodeSockaddr, decodeSockaddr, sockaddrBytes, type PollFd, type EpollEvent, type AddrOut, type TcpInfo } from './socket/index.js';
export { DgramSocket, type DgramSocketOptions, type DgramType, type RemoteInfo, type AddressInfo as DgramAddressInfo } from './socket/api/dgram.js';
export { DeviceMemory, NcdevmemPattern, type DeviceBackend, type DeviceMemoryStats } from './mem/index.js';
export { NetDevice, type NetDeviceOptions, type NtupleRule } from './netdev/index.js';
export {
  SimWire, SimSwitch, PcapWriter, FramePort, type SimWireOptions, type SimSwitchOptions, type FramePortOptions, type FramePortStats,
  type FrameLink, type FrameMeta, type LinkOffloads, type LinkReceiver,
} from './link/index.js';
export { VxlanLink, type VxlanLinkOptions, type VxlanLinkStats, type VxlanEndpoint } from './link/vxlan/index.js';
export { TapLink, type TapLinkOptions, type TapLinkStats } from './link/tap/index.js';
export { NetlinkSocket } from './netlink/index.js';
export { readPcap } from './wire/pcap.js';
export { parseIpv4Addr, ipv4AddrToString } from './wire/addr.js';
