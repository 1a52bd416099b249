/** The registry of `ndis` commands. */
import { demoCommand } from './demo.js';
import { verifierRulesCommand } from './verifier.js';

/** One `ndis` command. */
export interface Command {
  /** One or two words, e.g. `demo`, `verifier rules`. */
  name: string;
  summary: string;
  /** Runs with the arguments after the command words; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

export const commands: Command[] = [demoCommand, verifierRulesCommand];
