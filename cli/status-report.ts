import { deployState } from '../shared/secret-value.ts';
import type { ProjectError, ProjectStatusView, SecretRecord } from '../shared/status-store.ts';
import { colourStatus, formatTable, type Styles } from './table.ts';

/**
 * One secret as `neptune status --json` prints it. The docs' fields (kind, name, status, aws_id)
 * come first, then the fields a user acts on: whether a value is set, whether a redeploy is due,
 * and why the secret failed or when it will be deleted. Optional fields appear only when they apply.
 */
export interface SecretReport {
  kind: 'Secret';
  name: string;
  status: SecretRecord['status'];
  aws_id: string;
  value_set: boolean;
  value_version?: string;
  value_set_at?: string;
  redeploy_required: boolean;
  error_code?: string;
  error_message?: string;
  deletion_date?: string;
}

export function secretReports(view: ProjectStatusView): SecretReport[] {
  return [...view.secrets]
    .filter((secret) => secret.kind === 'Secret')
    .sort((left, right) => left.name.localeCompare(right.name))
    .map((secret) => {
      const report: SecretReport = {
        kind: 'Secret',
        name: secret.name,
        status: secret.status,
        aws_id: secret.aws_id,
        value_set: secret.value_version !== undefined || secret.value_set_at !== undefined,
        redeploy_required: deployState(secret) === 'RedeployRequired',
      };
      if (secret.value_version !== undefined) report.value_version = secret.value_version;
      if (secret.value_set_at !== undefined) report.value_set_at = secret.value_set_at;
      if (secret.error_code !== undefined) report.error_code = secret.error_code;
      if (secret.error_message !== undefined) report.error_message = secret.error_message;
      if (secret.deletion_date !== undefined) report.deletion_date = secret.deletion_date;
      return report;
    });
}

/** Formats the status table of a project, with the project's own state and errors above it. */
export function formatStatus(projectId: string, view: ProjectStatusView, styles: Styles): string {
  const lines: string[] = [];
  const project = view.project;

  if (project) {
    const service = project.name ? ` (service ${project.name})` : '';
    const version = project.manifest_version ? `, manifest version ${project.manifest_version}` : '';
    const busy = project.lease_owner ? '; provisioning is in progress' : '';
    lines.push(`Project ${projectId}${service}: ${colourStatus(styles, project.status)}${version}${busy}`);

    const projectErrors = (project.errors ?? []).filter((error) => error.name === undefined);
    for (const error of projectErrors) lines.push(`  ${styles.red('error')} ${formatProjectError(error)}`);

    if (project.last_rejection) {
      const rejection = project.last_rejection;
      const kept = project.manifest_version ? 'the project keeps the manifest applied before' : 'no manifest was ever applied';
      lines.push(`${styles.red('The upload')} ${rejection.version} at ${rejection.at} was rejected; ${kept}:`);
      for (const error of rejection.errors) lines.push(`  ${formatProjectError(error)}`);
    }
  } else {
    lines.push(`Project ${projectId}: no project record`);
  }

  const reports = secretReports(view);
  if (reports.length === 0) {
    lines.push('No secrets.');
    return `${lines.join('\n')}\n`;
  }

  lines.push('');
  const rows = reports.map((report) => [
    report.name,
    report.deletion_date ? `${report.status} until ${report.deletion_date.slice(0, 10)}` : report.status,
    report.aws_id,
    report.value_set ? 'set' : 'unset',
    report.redeploy_required ? 'required' : '-',
    report.error_code ? `${report.error_code}: ${report.error_message ?? ''}`.trim() : '-',
  ]);
  const table = formatTable(['NAME', 'STATUS', 'AWS ID', 'VALUE', 'REDEPLOY', 'ERROR'], rows, (cell, row, column) => {
    const report = reports[row] as SecretReport;
    if (column === 1) return colourStatus(styles, report.status, cell);
    if (column === 3 && !report.value_set) return styles.yellow(cell);
    if (column === 4 && report.redeploy_required) return styles.yellow(cell);
    if (column === 5 && report.error_code) return styles.red(cell);
    return cell;
  });
  lines.push(table.trimEnd());
  lines.push('');
  lines.push(summarize(projectId, reports));
  return `${lines.join('\n')}\n`;
}

function summarize(projectId: string, reports: SecretReport[]): string {
  const counts = new Map<string, number>();
  for (const report of reports) counts.set(report.status, (counts.get(report.status) ?? 0) + 1);
  const byStatus = [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
  const declared = reports.filter((report) => report.status !== 'PendingDeletion');
  const unset = declared.filter((report) => !report.value_set).length;
  const redeploy = reports.filter((report) => report.redeploy_required).length;

  const parts = [`${reports.length} ${reports.length === 1 ? 'secret' : 'secrets'}: ${byStatus}`];
  if (unset > 0) parts.push(`${unset} without a value (set with \`neptune secret set NAME --project ${projectId}\`)`);
  if (redeploy > 0) parts.push(`${redeploy} changed since the last deploy (redeploy, then run \`neptune deployed --project ${projectId}\`)`);
  return `${parts.join('; ')}.`;
}

export function formatProjectError(error: ProjectError): string {
  const where = error.name ?? error.path;
  return `${where ? `${where}: ` : ''}${error.code}: ${error.message}`;
}
