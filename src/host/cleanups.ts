/**
 * A stack of undo actions (debos' idea): pushed as resources are taken, run in reverse when the
 * work ends, whether it succeeded or failed. A failing cleanup is reported and the others
 * still run.
 */
export class Cleanups {
  private readonly stack: { what: string; undo: () => Promise<void> | void }[] = [];

  push(what: string, undo: () => Promise<void> | void): void {
    this.stack.push({ what, undo });
  }

  async runAll(report: (message: string) => void = () => {}): Promise<void> {
    while (this.stack.length > 0) {
      const item = this.stack.pop();
      if (!item) break;
      try {
        await item.undo();
      } catch (e) {
        report(`cleanup '${item.what}' failed: ${(e as Error).message}`);
      }
    }
  }
}
