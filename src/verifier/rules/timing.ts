/**
 * Timing rules: Driver Verifier's NdisTimed* and NdisFilterTimed* watchdogs, on the runtime's clock.
 */
import { RULE } from '../../ndis/rule-ids.js';
import { devtestPage, type VerifierRule } from '../rule.js';

/** The Driver Verifier limits, in milliseconds. */
export const TIMING_LIMITS_MS = {
  oidComplete: 12_000,
  dataSend: 30_000,
  dataHang: 22_000,
  filterPause: 10_000,
  filterSend: 30_000,
  filterReceive: 30_000,
} as const;

export const TIMING_RULES: readonly VerifierRule[] = [
  { id: RULE.TIMED_OID_COMPLETE, family: 'timing', title: 'A miniport completes an OID request within 12 seconds', source: devtestPage('ndis-ndistimedoidcomplete'), windowsCode: '0xC4/0x00092003 NdisTimedOidComplete', severity: 'violation', level: 'cheap' },
  { id: RULE.TIMED_DATA_SEND, family: 'timing', title: 'A miniport completes each send NBL within 30 seconds', source: devtestPage('ndis-ndistimeddatasend'), windowsCode: '0xC4/0x0009200D NdisTimedDataSend', severity: 'violation', level: 'full' },
  { id: RULE.TIMED_DATA_HANG, family: 'timing', title: 'With sends pending, a miniport completes at least one within 22 seconds', source: devtestPage('ndis-ndistimeddatahang'), windowsCode: '0xC4/0x0009200F NdisTimedDataHang', severity: 'violation', level: 'cheap' },
  { id: RULE.FILTER_TIMED_PAUSE, family: 'timing', title: 'A filter completes its pause within 10 seconds', source: devtestPage('ndisfiltertimedpausecomplete-'), windowsCode: '0xC4/0x00092010 NdisFilterTimedPauseComplete', severity: 'violation', level: 'cheap' },
  { id: RULE.FILTER_TIMED_SEND, family: 'timing', title: 'A filter passes on or completes the sends it is given before the timeout', source: devtestPage('ndisfiltertimeddatasend'), windowsCode: '0xC4/0x00092011 NdisFilterTimedDataSend', severity: 'violation', level: 'full' },
  { id: RULE.FILTER_TIMED_RECEIVE, family: 'timing', title: 'A filter passes on or returns the receives it is given before the timeout', source: devtestPage('ndisfiltertimeddatareceive'), windowsCode: '0xC4/0x00092012 NdisFilterTimedDataReceive', severity: 'violation', level: 'full' },
];
