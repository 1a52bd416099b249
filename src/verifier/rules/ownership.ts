/**
 * Ownership rules: an NBL has one owner at a time, and it moves only through NDIS calls.
 */
import { RULE } from '../../ndis/rule-ids.js';
import { BUGCHECK_7C, networkPage, type VerifierRule } from '../rule.js';

const REC = networkPage('indicating-received-data-from-a-miniport-driver');
const SEND = networkPage('sending-data-from-a-miniport-driver');

export const OWNERSHIP_RULES: readonly VerifierRule[] = [
  { id: RULE.NBL_NOT_OWNED, family: 'ownership', title: 'A driver hands on only NBLs it owns (an NBL given to NDIS is not touched or sent again until it comes back)', source: networkPage('net-buffer-list-structure'), windowsCode: null, severity: 'violation', level: 'cheap' },
  { id: RULE.NBL_DOUBLE_COMPLETE, family: 'ownership', title: 'A send NBL is completed exactly once', source: SEND, windowsCode: null, severity: 'violation', level: 'cheap' },
  { id: RULE.NBL_COMPLETE_NOT_OWNED, family: 'ownership', title: 'A miniport completes only NBLs NDIS sent to it', source: SEND, windowsCode: null, severity: 'violation', level: 'cheap' },
  { id: RULE.NBL_RETURN_NOT_OWNED, family: 'ownership', title: 'A driver returns only the receive NBLs it holds, once', source: REC, windowsCode: null, severity: 'violation', level: 'full' },
  { id: RULE.NBL_RETURN_RESOURCES, family: 'ownership', title: 'An NBL indicated with NDIS_RECEIVE_FLAGS_RESOURCES is neither kept nor returned after the indication returns', source: REC, windowsCode: null, severity: 'violation', level: 'full' },
  { id: RULE.NBL_SOURCE_HANDLE, family: 'ownership', title: 'SourceHandle is left as the originator set it; a filter consumes the completions and returns of the NBLs it originated', source: networkPage('receiving-network-data'), windowsCode: null, severity: 'violation', level: 'cheap' },
  { id: RULE.NBL_CHAIN_CYCLE, family: 'ownership', title: 'An NBL chain ends and holds only allocated NBLs', source: networkPage('net-buffer-list-structure'), windowsCode: null, severity: 'violation', level: 'cheap' },
  { id: RULE.NBL_LEAKED, family: 'ownership', title: 'No NBL is still held when its driver halts, detaches, unbinds or frees its pool', source: BUGCHECK_7C, windowsCode: '0x7C/0x27 LEAKED_NBL', severity: 'violation', level: 'cheap' },
  { id: RULE.NBL_CHILD_REFCOUNT, family: 'ownership', title: 'A parent NBL is completed or returned only when its derived NBLs are freed (ChildRefCount 0)', source: networkPage('derived-net-buffer-list-structures'), windowsCode: '0x7C/0x1E REFCOUNT_IMBALANCE', severity: 'violation', level: 'full' },
  { id: RULE.NBL_COUNT_MISMATCH, family: 'ownership', title: 'NumberOfNetBufferLists matches the chain', source: REC, windowsCode: null, severity: 'violation', level: 'full' },
  { id: RULE.NBL_FREED_IN_FLIGHT, family: 'ownership', title: 'A freed NBL is never handed on', source: networkPage('net-buffer-list-structure'), windowsCode: null, severity: 'violation', level: 'full' },
];
