/**
 * Progress for long work: one line that updates in place on a terminal, plain lines otherwise.
 * Progress goes to stderr, so that stdout keeps only the command's output.
 */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private last = '';
  private readonly quiet: boolean;

  constructor(quiet = false) {
    this.quiet = quiet;
  }

  /** Shows a step (replacing the previous line on a terminal). */
  step(text: string): void {
    if (this.quiet) return;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
      this.last = text;
    } else {
      process.stderr.write(`${text}\n`);
    }
  }

  /** Ends the in-place line. */
  done(): void {
    if (this.quiet) return;
    if (this.tty && this.last !== '') process.stderr.write('\n');
    this.last = '';
  }
}
