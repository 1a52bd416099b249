/**
 * Test support: reading capture files back with tshark (Wireshark's command-line reader), the
 * independent check that the pcapng the capture filter and the pcap miniport write is well formed.
 */
import { execFile, spawnSync } from 'node:child_process';

/** Why tshark checks cannot run, or null. */
export function tsharkSkipReason(): string | null {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0 ? null : 'tshark is not installed (apt-get install tshark)';
}

/** What tshark made of a capture. */
export interface TsharkSummary {
  /** Frames tshark read. */
  frames: number;
  /** Frames Wireshark marks malformed (a dissector ran past the data or found it inconsistent). */
  malformed: number;
  /** One row per frame of the fields asked for, tab-separated. */
  rows: string[][];
  /** tshark's stderr (empty when the file read cleanly). */
  stderr: string;
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('tshark', args, { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Reads `file` with tshark: the values of `fields` per frame (`-T fields`), the frame count, and
 * how many frames Wireshark marks malformed (`_ws.malformed`; heuristic dissectors guessing at
 * random payloads may raise other expert errors, which are not counted). `decodeAs` entries go to `-d` (e.g.
 * `udp.port==4789,data` to see arbitrary payloads as data rather than VXLAN).
 * @throws when tshark fails to read the file (exit status non-zero).
 */
export async function tshark(file: string, fields: string[] = ['frame.number'], decodeAs: string[] = []): Promise<TsharkSummary> {
  const d = decodeAs.flatMap((x) => ['-d', x]);
  const out = await run(['-r', file, '-n', ...d, '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])]);
  if (out.code !== 0) throw new Error(`tshark could not read ${file} (exit ${out.code}): ${out.stderr}`);
  const rows = out.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
  const bad = await run(['-r', file, '-n', ...d, '-Y', '_ws.malformed', '-T', 'fields', '-e', 'frame.number']);
  if (bad.code !== 0) throw new Error(`tshark could not filter ${file} (exit ${bad.code}): ${bad.stderr}`);
  const malformed = bad.stdout.split('\n').filter((l) => l.length > 0).length;
  // tshark warns about running as root; anything else on stderr is about the file.
  const stderr = out.stderr.split('\n').filter((l) => l.length > 0 && !l.includes('Running as user')).join('\n');
  return { frames: rows.length, malformed, rows, stderr };
}

/**
 * Reads the frames of one interface of a multi-interface capture as their own capture: tshark
 * writes them to `scratchFile` first, so that its TCP analysis does not mix the two ends of a
 * connection captured on two adapters (which it would report as retransmissions and overlaps).
 */
export async function tsharkInterface(file: string, interfaceName: string, scratchFile: string, fields: string[] = ['frame.number']): Promise<TsharkSummary> {
  const out = await run(['-r', file, '-n', '-Y', `frame.interface_name == "${interfaceName}"`, '-w', scratchFile]);
  if (out.code !== 0) throw new Error(`tshark could not split ${file} (exit ${out.code}): ${out.stderr}`);
  return tshark(scratchFile, fields);
}
