/**
 * Reads which AWS service and operation an HTTP request calls, and writes AWS error responses
 * in the shape of each protocol, so that SDK clients parse them as they parse AWS's.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

/** The wire protocol of a service, which decides the shape of its error responses. */
export type Protocol = 'json' | 'query' | 'rest-xml' | 'rest-json';

export interface RequestIdentity {
  /** The signing name of the service, e.g. `s3`, `dynamodb`, `states`; `unknown` if unsigned. */
  service: string;
  /** The API operation, e.g. `PutObject`; `Unknown` if the request does not identify it. */
  operation: string;
  protocol: Protocol;
}

const CREDENTIAL_SCOPE = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/;

/** Returns the service from the SigV4 credential scope of the Authorization header or a presigned URL. */
export function signingService(headers: IncomingHttpHeaders, url: URL): string | undefined {
  const authorization = headers.authorization;
  const fromHeader = typeof authorization === 'string' ? CREDENTIAL_SCOPE.exec(authorization)?.[1] : undefined;
  if (fromHeader) return fromHeader;

  const credential = url.searchParams.get('X-Amz-Credential');
  return credential?.split('/')[3];
}

/** Whether the body must be read to know the operation: query protocols put `Action` in a form body. */
export function needsBodyForOperation(headers: IncomingHttpHeaders): boolean {
  return !headers['x-amz-target'] && String(headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

export function identifyRequest(method: string, url: URL, headers: IncomingHttpHeaders, body: Buffer | undefined): RequestIdentity {
  const target = headers['x-amz-target'];
  const service = signingService(headers, url) ?? serviceFromTarget(target) ?? 'unknown';

  if (typeof target === 'string') {
    return { service, operation: target.slice(target.lastIndexOf('.') + 1) || 'Unknown', protocol: 'json' };
  }

  const action = url.searchParams.get('Action') ?? (body ? new URLSearchParams(body.toString('utf8')).get('Action') : null);
  if (action) return { service, operation: action, protocol: 'query' };

  if (service === 's3') return { service, operation: s3Operation(method, url, headers), protocol: 'rest-xml' };
  if (service === 'lambda') return { service, operation: lambdaOperation(method, url.pathname), protocol: 'rest-json' };

  return { service, operation: 'Unknown', protocol: 'json' };
}

function serviceFromTarget(target: string | string[] | undefined): string | undefined {
  if (typeof target !== 'string') return undefined;
  if (target.startsWith('AWSStepFunctions.')) return 'states';
  if (target.startsWith('DynamoDB_')) return 'dynamodb';
  if (target.startsWith('secretsmanager.')) return 'secretsmanager';
  if (target.startsWith('AmazonSQS.')) return 'sqs';
  return undefined;
}

/** Subresources that name a bucket or object configuration, as `?versioning` in `GetBucketVersioning`. */
const S3_SUBRESOURCES: Record<string, string> = {
  acl: 'Acl',
  cors: 'Cors',
  encryption: 'Encryption',
  lifecycle: 'LifecycleConfiguration',
  notification: 'NotificationConfiguration',
  ownershipControls: 'OwnershipControls',
  policy: 'Policy',
  publicAccessBlock: 'PublicAccessBlock',
  tagging: 'Tagging',
  versioning: 'Versioning',
};

/** Names the S3 operation from method and path-style URL (`/bucket/key`), e.g. `s3:ListObjectsV2`. */
export function s3Operation(method: string, url: URL, headers: IncomingHttpHeaders): string {
  const [bucket, ...keyParts] = url.pathname.slice(1).split('/');
  const hasKey = keyParts.join('/') !== '';
  const query = url.searchParams;
  const verbs: Record<string, string> = { GET: 'Get', PUT: 'Put', DELETE: 'Delete' };
  const verb = verbs[method] ?? method;

  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unknown';

  const subresource = Object.keys(S3_SUBRESOURCES).find((name) => query.has(name));
  if (subresource && (method === 'GET' || method === 'PUT' || method === 'DELETE')) {
    return `${verb}${hasKey ? 'Object' : 'Bucket'}${S3_SUBRESOURCES[subresource]}`;
  }

  if (!hasKey) {
    switch (method) {
      case 'GET':
        if (query.has('versions')) return 'ListObjectVersions';
        if (query.has('uploads')) return 'ListMultipartUploads';
        if (query.has('location')) return 'GetBucketLocation';
        return query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
      case 'PUT':
        return 'CreateBucket';
      case 'HEAD':
        return 'HeadBucket';
      case 'DELETE':
        return 'DeleteBucket';
      case 'POST':
        return query.has('delete') ? 'DeleteObjects' : 'PostObject';
    }
  }

  switch (method) {
    case 'GET':
      return query.has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (query.has('uploadId')) return headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart';
      return headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    case 'DELETE':
      return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (query.has('uploads')) return 'CreateMultipartUpload';
      if (query.has('uploadId')) return 'CompleteMultipartUpload';
      return 'Unknown';
  }

  return 'Unknown';
}

/** Names the Lambda operation of a REST path such as `/2015-03-31/functions/{name}/invocations`. */
export function lambdaOperation(method: string, pathname: string): string {
  const parts = pathname.split('/').filter(Boolean);
  if (parts[1] !== 'functions') return 'Unknown';

  if (parts.length === 2) {
    if (method === 'GET') return 'ListFunctions';
    if (method === 'POST') return 'CreateFunction';
    return 'Unknown';
  }
  if (parts.length === 3) {
    if (method === 'GET') return 'GetFunction';
    if (method === 'DELETE') return 'DeleteFunction';
    return 'Unknown';
  }
  if (parts[3] === 'invocations' && method === 'POST') return 'Invoke';
  if (parts[3] === 'configuration') return method === 'GET' ? 'GetFunctionConfiguration' : 'UpdateFunctionConfiguration';
  return 'Unknown';
}

export interface AwsErrorSpec {
  status: number;
  code: string;
  message: string;
}

/** DynamoDB qualifies error codes with its API namespace, and the SDK strips it again. */
const DYNAMODB_ERROR_NAMESPACE = 'com.amazonaws.dynamodb.v20120810#';

/** Writes an error response in the protocol of the request, with a fresh request id. */
export function writeAwsError(response: ServerResponse, identity: RequestIdentity, error: AwsErrorSpec): void {
  const requestId = randomUUID();

  switch (identity.protocol) {
    case 'json': {
      const type = identity.service === 'dynamodb' ? `${DYNAMODB_ERROR_NAMESPACE}${error.code}` : error.code;
      response.writeHead(error.status, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': error.code,
      });
      response.end(JSON.stringify({ __type: type, message: error.message }));
      return;
    }
    case 'rest-json':
      response.writeHead(error.status, {
        'content-type': 'application/json',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': error.code,
      });
      response.end(JSON.stringify({ Type: error.status < 500 ? 'User' : 'Service', message: error.message }));
      return;
    case 'query':
      response.writeHead(error.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
      response.end(
        `<ErrorResponse><Error><Type>${error.status < 500 ? 'Sender' : 'Receiver'}</Type>` +
          `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
          `<RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
      return;
    case 'rest-xml':
      response.writeHead(error.status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(error.code)}</Code>` +
          `<Message>${escapeXml(error.message)}</Message><RequestId>${requestId}</RequestId></Error>`,
      );
      return;
  }
}

/** Writes a successful JSON response of a JSON-protocol service. */
export function writeAwsJson(response: ServerResponse, status: number, body: unknown, contentType = 'application/x-amz-json-1.0'): void {
  response.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': randomUUID() });
  response.end(JSON.stringify(body));
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}
