/**
 * Protocol drivers and their bindings (open blocks): NdisRegisterProtocolDriver, NdisOpenAdapterEx,
 * and the demultiplexer at the top of an adapter's stack that delivers receives and send
 * completions to the right bindings.
 */
import { NBL_HANDOFF, type NetBufferList } from '../nbl/net-buffer-list.js';
import { NDIS_NBL_FLAGS, NDIS_RECEIVE_FLAGS } from '../nbl/flags.js';
import type { ProtocolDriverCharacteristics } from './characteristics.js';
import type { CompleteTarget, ReceiveTarget } from './datapath.js';
import { NdisDropReason } from './datapath.js';
import { BINDING_TRANSITIONS, BindingState, StateMachine, type BindingEvent } from './state.js';
import { NDIS_PACKET_TYPE } from './constants.js';
import type { MiniportBlock } from './miniport.js';
import type { NdisOidRequest } from './oid.js';
import type { Ndis } from './ndis.js';
import { RULE } from './rule-ids.js';
import { DriverResources } from './resources.js';

/** A registered protocol driver (the NdisProtocolHandle). */
export class ProtocolDriver {
  readonly ndis: Ndis;
  readonly chars: ProtocolDriverCharacteristics;
  readonly driverContext: unknown;
  readonly id: number;
  readonly lowerRange: readonly string[];
  readonly opens = new Set<OpenBlock>();
  /** The miniport driver this protocol is associated with (NdisIMAssociateMiniport), for IM drivers. */
  associatedMiniport: object | null = null;
  deregistered = false;

  constructor(ndis: Ndis, chars: ProtocolDriverCharacteristics, driverContext: unknown, id: number) {
    this.ndis = ndis;
    this.chars = chars;
    this.driverContext = driverContext;
    this.id = id;
    this.lowerRange = chars.lowerRange ?? ['ndis5'];
  }

  get name(): string {
    return this.chars.name;
  }
}

/** Per-binding counters. */
export interface OpenCounters {
  sends: number;
  sendCompletes: number;
  receives: number;
  returns: number;
  loopbacks: number;
}

/**
 * A binding between a protocol and an adapter (the NdisBindingHandle, NDIS's open block): its state
 * machine, its ProtocolBindingContext, its packet filter and multicast list (NDIS merges them for
 * the miniport) and its outstanding sends.
 */
export class OpenBlock {
  readonly ndis: Ndis;
  readonly protocol: ProtocolDriver;
  readonly miniport: MiniportBlock;
  readonly id: number;
  readonly name: string;
  readonly sm: StateMachine<BindingState, BindingEvent>;
  context: unknown = null;
  /** The bind context of the ProtocolBindAdapterEx call that created the binding. */
  readonly bindContext: object;
  /** OID_GEN_CURRENT_PACKET_FILTER of this binding (NDIS_PACKET_TYPE_*). */
  packetFilter = 0;
  /** OID_802_3_MULTICAST_LIST of this binding. */
  multicastList: Uint8Array[] = [];
  /** NDIS_OPEN_PARAMETERS.FrameTypeArray: EtherTypes wanted, empty for all. */
  frameTypes: readonly number[] = [];
  /** Sends handed to NDIS and not yet completed. */
  outstandingSends = 0;
  readonly counters: OpenCounters = { sends: 0, sendCompletes: 0, receives: 0, returns: 0, loopbacks: 0 };
  /** NdisOpenAdapterEx succeeded and NdisCloseAdapterEx has not been called. */
  opened = false;
  readonly resources = new DriverResources();
  /** Completion of an open that returned PENDING. */
  openPending: ((status: number) => void) | null = null;
  closePending: (() => void) | null = null;
  pnpPending: ((status: number) => void) | null = null;
  /** Chain being built for this binding during one receive demux (no allocation). */
  rxHead: NetBufferList | null = null;
  rxTail: NetBufferList | null = null;
  rxCount = 0;
  /** Send-complete chain being built during one completion demux. */
  cHead: NetBufferList | null = null;
  cTail: NetBufferList | null = null;
  cCount = 0;

  constructor(ndis: Ndis, protocol: ProtocolDriver, miniport: MiniportBlock, id: number, bindContext: object) {
    this.ndis = ndis;
    this.protocol = protocol;
    this.miniport = miniport;
    this.id = id;
    this.bindContext = bindContext;
    this.name = `${protocol.name}->${miniport.name}`;
    this.sm = new StateMachine(BINDING_TRANSITIONS, BindingState.Unbound, `binding ${this.name}`);
  }

  get state(): BindingState {
    return this.sm.state;
  }

  get dataPathOpen(): boolean {
    const s = this.sm.state;
    return s === BindingState.Running || s === BindingState.Pausing;
  }

  /** OID serialization is per miniport; a binding only tracks what it issued. */
  readonly issued = new Set<NdisOidRequest>();

  /** ProtocolReceiveNetBufferLists, cached for the data path. */
  receiveHandler: ProtocolDriverCharacteristics['receiveNetBufferLists'] = noReceive;

  /** Caches the protocol's data-path handlers. */
  cacheHandlers(): void {
    this.receiveHandler = this.protocol.chars.receiveNetBufferLists;
  }
}

const noReceive: ProtocolDriverCharacteristics['receiveNetBufferLists'] = () => undefined;

function isBroadcast(b: Uint8Array, o: number): boolean {
  return (b[o]! & b[o + 1]! & b[o + 2]! & b[o + 3]! & b[o + 4]! & b[o + 5]!) === 0xff;
}

function macEquals(b: Uint8Array, o: number, mac: Uint8Array): boolean {
  return b[o] === mac[0] && b[o + 1] === mac[1] && b[o + 2] === mac[2] && b[o + 3] === mac[3] && b[o + 4] === mac[4] && b[o + 5] === mac[5];
}

/**
 * Decides whether a frame whose destination MAC is at `b[o..o+6)` passes a packet filter
 * (directed to `mac`, multicast in `list`, all-multicast, broadcast, promiscuous) — the rules of
 * NDIS's Ethernet filter library (and netvmini's HWIsFrameAcceptedByPacketFilter).
 */
export function packetFilterAccepts(filter: number, b: Uint8Array, o: number, mac: Uint8Array, list: readonly Uint8Array[]): boolean {
  if ((filter & (NDIS_PACKET_TYPE.PROMISCUOUS | NDIS_PACKET_TYPE.ALL_LOCAL)) !== 0) return true;
  if ((b[o]! & 1) === 0) return (filter & NDIS_PACKET_TYPE.DIRECTED) !== 0 && macEquals(b, o, mac);
  if (isBroadcast(b, o)) return (filter & NDIS_PACKET_TYPE.BROADCAST) !== 0;
  if ((filter & NDIS_PACKET_TYPE.ALL_MULTICAST) !== 0) return true;
  if ((filter & NDIS_PACKET_TYPE.MULTICAST) === 0) return false;
  for (let i = 0; i < list.length; i++) if (macEquals(b, o, list[i]!)) return true;
  return false;
}

/**
 * The top of an adapter's stack: NDIS delivering receive indications to the bindings (each one
 * the NBLs its packet filter accepts) and send completions to the binding that sent each NBL.
 */
export class ProtocolDemux implements ReceiveTarget, CompleteTarget {
  readonly miniport: MiniportBlock;
  /** Bindings that can receive, rebuilt on stack changes. */
  active: OpenBlock[] = [];

  constructor(miniport: MiniportBlock) {
    this.miniport = miniport;
  }

  /** NDIS receive indication to protocols (ProtocolReceiveNetBufferLists of each binding). */
  receiveUp(nbl: NetBufferList, portNumber: number, count: number, receiveFlags: number): void {
    const m = this.miniport;
    const ndis = m.ndis;
    const active = this.active;
    if (active.length === 1) {
      const open = active[0]!;
      // One binding whose filter is what the miniport applied: hand the chain on whole.
      if (open.dataPathOpen && ((receiveFlags & NDIS_RECEIVE_FLAGS.PERFECT_FILTERED) !== 0 || (open.packetFilter & NDIS_PACKET_TYPE.PROMISCUOUS) !== 0) && open.frameTypes.length === 0) {
        open.counters.receives += count;
        if (ndis.verifyLevel >= 2) ndis.checks.transferChain(nbl, open.id, 'ProtocolReceiveNetBufferLists', open, NBL_HANDOFF.Receive);
        open.receiveHandler(open.context, nbl, portNumber, count, receiveFlags);
        return;
      }
    }
    this.demultiplex(nbl, portNumber, receiveFlags);
  }

  /**
   * The general case: several bindings, or per-binding filtering needed. Each NBL goes to every
   * binding whose packet filter accepts it. An NBL wanted by one binding passes with ownership; an
   * NBL wanted by several is indicated to all but the last with NDIS_RECEIVE_FLAGS_RESOURCES (they
   * must copy what they keep) and to the last with ownership. NBLs nobody wants go back down.
   */
  private demultiplex(chain: NetBufferList, portNumber: number, receiveFlags: number): void {
    const m = this.miniport;
    const ndis = m.ndis;
    const active = this.active;
    const mac = m.currentMacAddress;
    const resources = (receiveFlags & NDIS_RECEIVE_FLAGS.RESOURCES) !== 0;
    let dropHead: NetBufferList | null = null;
    let dropTail: NetBufferList | null = null;
    let nbl: NetBufferList | null = chain;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      nbl.next = null;
      const wanted = ndis.scratchOpens;
      wanted.length = 0;
      const nb = nbl.firstNetBuffer;
      const mdl = nb === null ? null : nb.currentMdl;
      const loop = (nbl.nblFlags & NDIS_NBL_FLAGS.IS_LOOPBACK_PACKET) !== 0;
      if (nb !== null && mdl !== null && nb.dataLength >= 14 && mdl.byteCount - nb.currentMdlOffset >= 14) {
        const b = mdl.buffer;
        const o = mdl.byteOffset + nb.currentMdlOffset;
        const etherType = (b[o + 12]! << 8) | b[o + 13]!;
        for (let i = 0; i < active.length; i++) {
          const open = active[i]!;
          if (!open.dataPathOpen) {
            m.drops[NdisDropReason.BindingNotRunning]!++;
            continue;
          }
          if (loop && !ndis.loopbackWanted(open, nbl)) continue;
          if (open.frameTypes.length > 0 && !open.frameTypes.includes(etherType)) continue;
          if (packetFilterAccepts(open.packetFilter, b, o, mac, open.multicastList)) wanted.push(open);
        }
      } else if (nb !== null && nb.dataLength < 14) {
        m.drops[NdisDropReason.Runt]!++;
      } else {
        // Header not contiguous in the first MDL: NDIS copies it to decide.
        const hdr = ndis.scratchHeader;
        if (nb !== null && ndis.copyHeader(nb, hdr)) {
          const etherType = (hdr[12]! << 8) | hdr[13]!;
          for (let i = 0; i < active.length; i++) {
            const open = active[i]!;
            if (!open.dataPathOpen) continue;
            if (loop && !ndis.loopbackWanted(open, nbl)) continue;
            if (open.frameTypes.length > 0 && !open.frameTypes.includes(etherType)) continue;
            if (packetFilterAccepts(open.packetFilter, hdr, 0, mac, open.multicastList)) wanted.push(open);
          }
        }
      }
      if (wanted.length === 0) {
        m.drops[NdisDropReason.NoBinding]!++;
        if (dropTail === null) dropHead = nbl;
        else dropTail.next = nbl;
        dropTail = nbl;
      } else {
        // Every binding but the last sees the NBL under RESOURCES semantics, one at a time.
        for (let i = 0; i + 1 < wanted.length; i++) {
          const open = wanted[i]!;
          open.counters.receives++;
          open.protocol.chars.receiveNetBufferLists(open.context, nbl, portNumber, 1, receiveFlags | NDIS_RECEIVE_FLAGS.RESOURCES);
          nbl.next = null;
        }
        const last = wanted[wanted.length - 1]!;
        if (last.rxTail === null) last.rxHead = nbl;
        else last.rxTail.next = nbl;
        last.rxTail = nbl;
        last.rxCount++;
      }
      nbl = next;
    }
    for (let i = 0; i < active.length; i++) {
      const open = active[i]!;
      const head = open.rxHead;
      if (head === null) continue;
      const n = open.rxCount;
      open.rxHead = null;
      open.rxTail = null;
      open.rxCount = 0;
      open.counters.receives += n;
      if (ndis.verifyLevel >= 2) ndis.checks.transferChain(head, open.id, 'ProtocolReceiveNetBufferLists', open, NBL_HANDOFF.Receive);
      open.protocol.chars.receiveNetBufferLists(open.context, head, portNumber, n, receiveFlags);
    }
    if (dropHead !== null && !resources) {
      // Nobody took them: NDIS returns them down at once.
      m.topReturn.returnDown(dropHead, 0);
    }
  }

  /** Send completions reaching the top: split by SourceHandle to each binding's ProtocolSendNetBufferListsComplete. */
  completeUp(chain: NetBufferList, sendCompleteFlags: number): void {
    const ndis = this.miniport.ndis;
    let nbl: NetBufferList | null = chain;
    let first: OpenBlock | null = null;
    let mixed = false;
    while (nbl !== null) {
      const next: NetBufferList | null = nbl.next;
      const src = nbl.sourceHandle;
      if (!(src instanceof OpenBlock) || src.miniport !== this.miniport) {
        ndis.violate(RULE.NBL_SOURCE_HANDLE, this.miniport.driver.name, this.miniport.name, nbl, 'send completion reached the protocols with a SourceHandle that is no binding of this adapter (a filter that originated it did not consume its completion, or SourceHandle was changed)', 'NdisMSendNetBufferListsComplete');
        nbl = next;
        continue;
      }
      if (nbl.owner === src.id) {
        ndis.violate(RULE.NBL_DOUBLE_COMPLETE, this.miniport.driver.name, this.miniport.name, nbl, 'NBL completed to its sender twice (the binding already owns it again)', 'NdisMSendNetBufferListsComplete');
        nbl = next;
        continue;
      }
      nbl.owner = src.id;
      src.outstandingSends--;
      src.counters.sendCompletes++;
      if (first === null) first = src;
      else if (src !== first) mixed = true;
      nbl.next = null;
      if (src.cTail === null) src.cHead = nbl;
      else src.cTail.next = nbl;
      src.cTail = nbl;
      src.cCount++;
      nbl = next;
    }
    if (first === null) return;
    if (!mixed) {
      const h = first.cHead!;
      first.cHead = null;
      first.cTail = null;
      first.cCount = 0;
      first.protocol.chars.sendNetBufferListsComplete(first.context, h, sendCompleteFlags);
      return;
    }
    for (const open of this.miniport.opens) {
      const h = open.cHead;
      if (h === null) continue;
      open.cHead = null;
      open.cTail = null;
      open.cCount = 0;
      open.protocol.chars.sendNetBufferListsComplete(open.context, h, sendCompleteFlags);
    }
  }
}
