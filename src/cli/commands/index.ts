/** The registry of `ndis` commands. */
import { demoCommand } from './demo.js';
import { verifierRulesCommand } from './verifier.js';
import { rssCommand } from './rss.js';
import { inspectCommand } from './inspect.js';
import { hostCommand } from './host.js';
import { upCommand } from './up.js';
import { captureCommand } from './capture.js';
import { replayCommand } from './replay.js';

/** One `ndis` command. */
export interface Command {
  /** One or two words, e.g. `demo`, `verifier rules`. */
  name: string;
  summary: string;
  /** Runs with the arguments after the command words; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

export const commands: Command[] = [demoCommand, verifierRulesCommand, rssCommand, inspectCommand, hostCommand, upCommand, captureCommand, replayCommand];
