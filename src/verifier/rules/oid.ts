/**
 * OID rules, as Driver Verifier and NDIS check them.
 */
import { RULE } from '../../ndis/rule-ids.js';
import { BUGCHECK_7C, devtestPage, type VerifierRule } from '../rule.js';


export const OID_RULES: readonly VerifierRule[] = [
  { id: RULE.OID_COMPLETE_STATUS, family: 'oid', title: 'An OID completes with a status NDIS allows (never NDIS_STATUS_PENDING; power and delete OIDs only with their allowed statuses)', source: devtestPage('ndis-ndisoidcomplete'), windowsCode: '0xC4/0x00091001 NdisOidComplete', severity: 'violation', level: 'cheap' },
  { id: RULE.OID_DOUBLE_COMPLETE, family: 'oid', title: 'An OID request is completed once', source: devtestPage('ndis-ndisoiddoublecomplete'), windowsCode: '0xC4/0x00091002 NdisOidDoubleComplete', severity: 'violation', level: 'cheap' },
  { id: RULE.OID_DOUBLE_REQUEST, family: 'oid', title: 'An OID request object is not issued again while it is still pending', source: devtestPage('ndis-ndisoiddoublerequest'), windowsCode: '0xC4/0x0009100E NdisOidDoubleRequest', severity: 'violation', level: 'cheap' },
  { id: RULE.OID_INVALID_BUFFER, family: 'oid', title: 'BytesWritten is not larger than the InformationBuffer', source: BUGCHECK_7C, windowsCode: '0x7C/0x1D OID_REQUEST_INVALID_BUFFER', severity: 'violation', level: 'cheap' },
  { id: RULE.OID_COMPLETE_NOT_PENDING, family: 'oid', title: 'Only a pending OID request is completed', source: BUGCHECK_7C, windowsCode: '0x7C/0x26 INVALID_OID_COMPLETION', severity: 'violation', level: 'cheap' },
  { id: RULE.OID_MUST_SUCCEED, family: 'oid', title: 'An OID that must not fail (setting OID_GEN_CURRENT_PACKET_FILTER) succeeds', source: BUGCHECK_7C, windowsCode: '0x7C/0x1C MINIPORT_FAILED_OID_WHICH_MUST_SUCCEED', severity: 'violation', level: 'cheap' },
];
