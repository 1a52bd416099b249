/**
 * Resource and IRQL rules: what a driver allocates through NDIS is released by the end of halt
 * (or detach, or unbind), and NDIS functions are called at the IRQL their family allows.
 */
import { RULE } from '../../ndis/rule-ids.js';
import { devtestPage, type VerifierRule } from '../rule.js';

export const RESOURCE_RULES: readonly VerifierRule[] = [
  { id: RULE.TIMER_NOT_CANCELLED, family: 'resources', title: 'Timers are cancelled and freed by the end of MiniportHaltEx (and FilterDetach)', source: devtestPage('ndis-canceltimerobject'), windowsCode: 'SDV CancelTimerObject; 0x7C/0x09 timers not cancelled', severity: 'violation', level: 'cheap' },
  { id: RULE.WORKITEM_NOT_FREED, family: 'resources', title: 'Work items allocated are freed by the end of halt', source: devtestPage('ndis-init-ndisallocateioworkitem'), windowsCode: 'SDV Init_NdisAllocateIoWorkItem', severity: 'violation', level: 'cheap' },
  { id: RULE.CONFIG_NOT_CLOSED, family: 'resources', title: 'Configuration handles opened with NdisOpenConfigurationEx are closed', source: devtestPage('ndis-ndisopenconfigurationex'), windowsCode: 'SDV NdisOpenConfigurationEx', severity: 'violation', level: 'cheap' },
  { id: RULE.POOL_NOT_FREED, family: 'resources', title: 'NET_BUFFER and NET_BUFFER_LIST pools are freed by the end of halt', source: devtestPage('ndis-ndisallocatenetbuffer'), windowsCode: 'SDV MemoryUsage rules', severity: 'violation', level: 'cheap' },
  { id: RULE.MEMORY_NOT_FREED, family: 'resources', title: 'Memory from NdisAllocateMemoryWithTagPriority is freed by the end of halt (detach, unbind)', source: devtestPage('memory-usage-rule-set--ndis-'), windowsCode: 'SDV NdisFreeMemory; Driver Verifier pool tracking (0xC4/0x62)', severity: 'violation', level: 'cheap' },
  { id: RULE.IRQL, family: 'resources', title: 'NDIS functions are called at the IRQL their family allows, and IRQL flags (NDIS_*_FLAGS_DISPATCH_LEVEL) are accurate', source: devtestPage('irql-rule-set--ndis-'), windowsCode: 'SDV Irql_* and Flags_Irql', severity: 'violation', level: 'cheap' },
];
