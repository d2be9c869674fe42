import { InvokeCommand } from '@aws-sdk/client-lambda';

import { markRedeployedRequestSchema } from '../../shared/secret-value.ts';
import { parseCommandArgs, requireProject, stringOption } from '../args.ts';
import { awsCallError, oneLine } from '../aws-errors.ts';
import { print, type CommandContext } from '../context.ts';
import { lambda, requireSettings } from '../environment.ts';
import { CliError, ExitCode, UsageError } from '../errors.ts';

/** The mark-redeployed function's response. */
interface MarkRedeployedResult {
  project: string;
  cleared: number;
  still_required: number;
  redeploy_required: boolean;
}

export async function runDeployed(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('deployed', args, {
    project: { type: 'string' },
    'started-at': { type: 'string' },
  });
  const project = requireProject('deployed', values.project);
  if (positionals.length > 0) throw new UsageError('deployed takes no arguments besides its options; run `neptune deployed --help`');

  const startedAt = stringOption(values['started-at']) ?? new Date().toISOString();
  const request = { project, deploy_started_at: startedAt };
  const parsed = markRedeployedRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new UsageError(`invalid --started-at "${startedAt}": must be an ISO 8601 time with an offset, such as 2030-01-31T12:00:00Z`);
  }

  const { redeployedFunction } = requireSettings(['redeployedFunction']);
  let response;
  try {
    response = await lambda().send(
      new InvokeCommand({ FunctionName: redeployedFunction, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(request)) }),
    );
  } catch (error) {
    throw awsCallError(error, 'recording the redeploy', `function ${redeployedFunction} (NEPTUNE_REDEPLOYED_FUNCTION)`);
  }

  const body = response.Payload ? (JSON.parse(Buffer.from(response.Payload).toString('utf8') || 'null') as unknown) : undefined;
  if (response.FunctionError) {
    const failure = (body ?? {}) as { errorType?: string; errorMessage?: string };
    const exitCode = failure.errorType === 'RequestInvalidError' ? ExitCode.Usage : ExitCode.Failed;
    throw new CliError(`recording the redeploy failed: ${oneLine(failure.errorMessage ?? response.FunctionError)}`, exitCode);
  }

  const result = body as MarkRedeployedResult;
  print(context.stdout, `Recorded the redeploy of project ${project} that started at ${startedAt}: ${result.cleared} ${result.cleared === 1 ? 'secret' : 'secrets'} no longer ${result.cleared === 1 ? 'needs' : 'need'} a redeploy.`);
  if (result.still_required > 0) {
    print(
      context.stdout,
      `${result.still_required} ${result.still_required === 1 ? 'secret was' : 'secrets were'} set after the deploy started and still ${result.still_required === 1 ? 'needs' : 'need'} a redeploy.`,
    );
  }
  return ExitCode.Success;
}
