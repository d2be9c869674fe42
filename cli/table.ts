/**
 * Plain-text tables and terminal colours. Colour is used only when the stream is a terminal and
 * NO_COLOR is unset (https://no-color.org), so piped output never carries escape codes.
 */

export interface Styles {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export function createStyles(stream: NodeJS.WritableStream & { isTTY?: boolean }, environment: NodeJS.ProcessEnv = process.env): Styles {
  const enabled = stream.isTTY === true && (environment.NO_COLOR === undefined || environment.NO_COLOR === '');
  const wrap = (open: number, close: number) => (text: string) => (enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/**
 * Lays out rows under a header, columns separated by two spaces. `colour` may style a cell after
 * it is padded, so escape codes never disturb the alignment.
 */
export function formatTable(
  headers: string[],
  rows: string[][],
  colour: (cell: string, row: number, column: number) => string = (cell) => cell,
): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const lines = [headers, ...rows].map((cells, rowIndex) =>
    cells
      .map((cell, column) => {
        const padded = column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0);
        return rowIndex === 0 ? padded : colour(padded, rowIndex - 1, column);
      })
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

export function colourStatus(styles: Styles, status: string, text: string = status): string {
  if (status === 'Available') return styles.green(text);
  if (status === 'Failed' || status === 'Invalid') return styles.red(text);
  if (status === 'Provisioning' || status === 'PendingDeletion' || status === 'Waiting') return styles.yellow(text);
  return text;
}
