import { CliError, EnvironmentError } from './errors.ts';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
const DENIED_NAMES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
]);

/**
 * Turns an error of an AWS SDK call into one line that names what to check. `action` names the
 * call in words ("uploading the manifest") and `resource` the thing it addressed, such as
 * `table neptune-status (NEPTUNE_TABLE)`.
 */
export function awsCallError(error: unknown, action: string, resource: string): CliError {
  if (error instanceof CliError) return error;
  if (!(error instanceof Error)) return new EnvironmentError(`${action} failed: ${String(error)}`);

  const name = error.name;
  const message = oneLine(error.message);
  const code = (error as { code?: string }).code ?? (error.cause as { code?: string } | undefined)?.code;
  const endpoint = process.env.AWS_ENDPOINT_URL;

  if (/region is missing/i.test(message)) {
    return new EnvironmentError(`${action} failed: no AWS region is set; set AWS_REGION or pass --region`, { cause: error });
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new EnvironmentError(
      `${action} failed: no AWS credentials were found; set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      { cause: error },
    );
  }
  if ((code !== undefined && NETWORK_CODES.has(code)) || name === 'TimeoutError') {
    const target = endpoint ?? 'the AWS endpoint';
    const hint = endpoint ? '; is the local stack running? Start it with `neptune local`' : '; check the network and AWS_REGION';
    return new EnvironmentError(`${action} failed: cannot reach ${target} (${code ?? name})${hint}`, { cause: error });
  }
  if (DENIED_NAMES.has(name)) {
    return new EnvironmentError(`${action} failed: access denied to ${resource} (${name}); check the AWS credentials and profile`, {
      cause: error,
    });
  }
  if (name === 'ResourceNotFoundException' || name === 'NoSuchBucket' || name === 'NotFound') {
    return new EnvironmentError(`${action} failed: ${resource} does not exist (${name}); check that it names the stack's output`, {
      cause: error,
    });
  }
  return new EnvironmentError(`${action} failed: ${name}: ${message}`, { cause: error });
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
