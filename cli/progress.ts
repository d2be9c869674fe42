import type { ProjectStatusView, SecretRecord } from '../shared/status-store.ts';
import { colourStatus, type Styles } from './table.ts';

/** Shows each secret's status while `push` waits for provisioning. */
export interface ProgressDisplay {
  update(view: ProjectStatusView): void;
  /** Ends the display; a terminal display leaves its last frame on the screen. */
  stop(): void;
}

type Output = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const SPINNER = ['|', '/', '-', '\\'];
/** Shown for a declared secret that has no status record yet. */
const WAITING = 'Waiting';

/**
 * Creates the display for `output`. A terminal gets one line per secret, redrawn in place with
 * ANSI cursor movement. Other outputs get one plain line per status change, for CI logs.
 */
export function createProgressDisplay(output: Output, styles: Styles, declared: string[]): ProgressDisplay {
  return output.isTTY ? new TerminalProgress(output, styles, declared) : new LineProgress(output);
}

function describe(secret: SecretRecord | undefined): string {
  if (!secret) return WAITING;
  if (secret.status === 'Failed' && secret.error_code) return `Failed (${secret.error_code})`;
  if (secret.status === 'PendingDeletion' && secret.deletion_date) return `PendingDeletion until ${secret.deletion_date.slice(0, 10)}`;
  return secret.status;
}

class LineProgress implements ProgressDisplay {
  private readonly shown = new Map<string, string>();

  constructor(private readonly output: Output) {}

  update(view: ProjectStatusView): void {
    for (const secret of view.secrets) {
      const text = describe(secret);
      if (this.shown.get(secret.name) === text) continue;
      this.shown.set(secret.name, text);
      this.output.write(`${secret.name}: ${text}\n`);
    }
  }

  stop(): void {}
}

class TerminalProgress implements ProgressDisplay {
  private drawnLines = 0;
  private frame = 0;

  constructor(
    private readonly output: Output,
    private readonly styles: Styles,
    private readonly declared: string[],
  ) {}

  update(view: ProjectStatusView): void {
    const records = new Map(view.secrets.map((secret) => [secret.name, secret]));
    const names = [...new Set([...this.declared, ...records.keys()])];
    const nameWidth = Math.max(0, ...names.map((name) => name.length));
    const spinner = SPINNER[this.frame++ % SPINNER.length] as string;
    const busy = view.project?.lease_owner !== undefined;

    const lines = [`${busy ? spinner : ' '} project ${view.project?.status ?? WAITING}${busy ? ', provisioning' : ''}`];
    for (const name of names) {
      const secret = records.get(name);
      const status = secret?.status ?? WAITING;
      const settled = status === 'Available' || status === 'Failed' || status === 'PendingDeletion';
      let marker = spinner;
      if (settled) marker = status === 'Failed' ? 'x' : '*';
      lines.push(`  ${marker} ${name.padEnd(nameWidth)}  ${describe(secret)}`);
    }

    // Lines wider than the terminal would wrap and break the cursor arithmetic, so cut them.
    const width = Math.max(20, (this.output.columns ?? 80) - 1);
    let text = this.drawnLines > 0 ? `\u001b[${this.drawnLines}A` : '';
    lines.forEach((line, index) => {
      const cut = line.length > width ? line.slice(0, width) : line;
      const status = index === 0 ? view.project?.status ?? WAITING : records.get(names[index - 1] as string)?.status ?? WAITING;
      text += `\u001b[2K${colourStatus(this.styles, status, cut)}\n`;
    });
    // A frame with fewer lines than the one before leaves old lines below; clear them.
    text += '\u001b[J';
    this.output.write(text);
    this.drawnLines = lines.length;
  }

  stop(): void {
    this.drawnLines = 0;
  }
}
