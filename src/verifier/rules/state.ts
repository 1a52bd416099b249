/**
 * State rules: data flows only in the states that allow it, and pause, restart and reset
 * completions happen only when one is pending.
 */
import { RULE } from '../../ndis/rule-ids.js';
import { BUGCHECK_7C, devtestPage, networkPage, type VerifierRule } from '../rule.js';

export const STATE_RULES: readonly VerifierRule[] = [
  { id: RULE.SEND_WHILE_PAUSED, family: 'state', title: 'No send while the sender is paused (or not yet restarted)', source: networkPage('pausing-a-binding'), windowsCode: null, severity: 'violation', level: 'cheap' },
  { id: RULE.INDICATE_WHILE_PAUSED, family: 'state', title: 'No receive indication while the indicating driver is paused (or not yet restarted)', source: networkPage('pausing-an-adapter'), windowsCode: null, severity: 'violation', level: 'cheap' },
  { id: RULE.PAUSE_WITH_OUTSTANDING, family: 'state', title: 'A pause completes only when every send is completed (and, for a miniport, every receive returned)', source: networkPage('pausing-an-adapter'), windowsCode: null, severity: 'violation', level: 'cheap' },
  { id: RULE.PAUSE_COMPLETE_UNEXPECTED, family: 'state', title: 'NdisMPauseComplete / NdisFPauseComplete only while a pause is pending', source: BUGCHECK_7C, windowsCode: '0x7C/0x1F ILLEGAL_MINIPORT_STATE_TRANSITION', severity: 'violation', level: 'cheap' },
  { id: RULE.RESTART_COMPLETE_UNEXPECTED, family: 'state', title: 'NdisMRestartComplete / NdisFRestartComplete only while a restart is pending', source: BUGCHECK_7C, windowsCode: '0x7C/0x1F ILLEGAL_MINIPORT_STATE_TRANSITION', severity: 'violation', level: 'cheap' },
  { id: RULE.STATUS_AFTER_HALT, family: 'state', title: 'No status indication after MiniportHaltEx returns', source: devtestPage('ndis-ndismindicatestatusex'), windowsCode: 'SDV NdisMIndicateStatusEx', severity: 'violation', level: 'cheap' },
  { id: RULE.RESET_COMPLETE_UNEXPECTED, family: 'state', title: 'NdisMResetComplete only while a reset is pending', source: BUGCHECK_7C, windowsCode: '0x7C/0x0F RESET_COMPLETE_UNEXPECTED', severity: 'violation', level: 'cheap' },
  { id: RULE.PAUSE_RETURN_VALUE, family: 'state', title: 'MiniportPause and FilterPause return only NDIS_STATUS_SUCCESS or NDIS_STATUS_PENDING (a pause cannot fail)', source: devtestPage('ndis-miniportpause-return'), windowsCode: 'SDV MiniportPause_Return', severity: 'violation', level: 'cheap' },
  { id: RULE.ILLEGAL_TRANSITION, family: 'state', title: 'NDIS functions are called in the context their state machine allows (e.g. NdisOpenAdapterEx only from the bind it belongs to)', source: BUGCHECK_7C, windowsCode: '0x7C/0x16 INVALID_OPEN_IN_BIND_CONTEXT', severity: 'violation', level: 'cheap' },
  { id: RULE.ATTRIBUTES_MISSING, family: 'state', title: 'MiniportInitializeEx sets registration then general attributes; FilterAttach calls NdisFSetAttributes', source: networkPage('initializing-a-miniport-adapter'), windowsCode: null, severity: 'violation', level: 'cheap' },
];
