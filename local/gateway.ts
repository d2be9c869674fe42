/**
 * One HTTP endpoint on 127.0.0.1 that serves every AWS service the project uses, for the AWS SDK
 * v3 (`AWS_ENDPOINT_URL`) and the AWS CLI (`--endpoint-url`).
 *
 * Requests are routed by the service in the SigV4 credential scope: `states` goes to the local
 * Step Functions, `lambda` to the local Lambda runtime, and every other service to moto,
 * unchanged and streamed. The gateway also counts calls per operation and is the one place
 * where faults are injected.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { identifyRequest, needsBodyForOperation, signingService, writeAwsError, type RequestIdentity } from './aws-protocol.ts';
import { GatewayStartError } from './errors.ts';
import { faultError, type FaultInjector, InvalidFaultRulesError } from './faults.ts';
import { handleLambdaRequest } from './lambda-api.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';
import type { StackLogger } from './log.ts';
import { describeExecution, handleStepFunctionsRequest } from './step-functions-api.ts';
import type { LocalStepFunctions } from './step-functions.ts';

/** A `timeout` fault keeps the request open this long, then closes the socket without a response. */
const HELD_REQUEST_MS = 30_000;

/** Headers that describe one hop, not the request; Node sets its own for the hop to moto. */
const HOP_BY_HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'expect', 'upgrade']);

export interface GatewayOptions {
  /** 0 picks a free port. */
  port: number;
  motoEndpoint: string;
  runtime: LambdaRuntime;
  stepFunctions: LocalStepFunctions;
  faults: FaultInjector;
  logger: StackLogger;
}

export interface Gateway {
  /** e.g. `http://127.0.0.1:4566` */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** Calls received per `service:Operation`, for benchmarks that count AWS calls. */
class CallCounter {
  private counts = new Map<string, number>();

  record(identity: RequestIdentity): void {
    const key = `${identity.service}:${identity.operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  reset(): void {
    this.counts = new Map();
  }

  /** `{"s3:PutObject": 2, ...}`, sorted by key. */
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const moto = new URL(options.motoEndpoint);
  const agent = new Agent({ keepAlive: true });
  const calls = new CallCounter();
  const heldSockets = new Set<Socket>();

  const server = createServer((request, response) => {
    handleRequest(request, response).catch((error: unknown) => {
      options.logger.error('gateway request failed', { method: request.method, path: request.url, error: String(error) });
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ __type: 'InternalFailure', message: `local gateway error: ${(error as Error).message}` }));
      } else {
        response.destroy();
      }
    });
  });

  async function handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/_neptune/')) {
      await handleControlRequest(request, response, url);
      return;
    }

    const service = signingService(request.headers, url);
    const servedLocally = service === 'states' || service === 'lambda' || String(request.headers['x-amz-target']).startsWith('AWSStepFunctions.');
    const needsBody = servedLocally || needsBodyForOperation(request.headers) || options.faults.needsBodies();
    const body = needsBody ? await readBody(request) : undefined;
    const identity = identifyRequest(request.method ?? 'GET', url, request.headers, body);
    calls.record(identity);

    const fault = options.faults.pick(identity, body);
    if (fault === 'timeout') {
      holdWithoutAnswer(response);
      return;
    }
    if (fault) {
      writeAwsError(response, identity, faultError(fault, identity));
      return;
    }

    if (identity.service === 'states') {
      handleStepFunctionsRequest(response, body ?? Buffer.alloc(0), identity, options.stepFunctions);
    } else if (identity.service === 'lambda') {
      await handleLambdaRequest(request, response, url, body ?? Buffer.alloc(0), identity, options.runtime, options.logger);
    } else {
      proxyToMoto(request, response, body);
    }
  }

  /** Sends the request to moto as received and streams moto's response back with its headers. */
  function proxyToMoto(request: IncomingMessage, response: ServerResponse, body: Buffer | undefined): void {
    const upstream = httpRequest(
      {
        host: moto.hostname,
        port: moto.port,
        method: request.method,
        path: request.url,
        headers: withoutHopByHop(request.rawHeaders),
        agent,
      },
      (motoResponse) => {
        response.writeHead(motoResponse.statusCode ?? 502, motoResponse.statusMessage, withoutHopByHop(motoResponse.rawHeaders));
        motoResponse.pipe(response);
      },
    );

    upstream.on('error', (error) => {
      options.logger.error('moto request failed', { method: request.method, path: request.url, error: error.message });
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ __type: 'ServiceUnavailable', message: `request to moto failed: ${error.message}` }));
    });
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });

    if (body) upstream.end(body);
    else request.pipe(upstream);
  }

  /** Keeps the request open so the client's own timeout fires, then drops the connection. */
  function holdWithoutAnswer(response: ServerResponse): void {
    const socket = response.socket;
    if (!socket) return;

    heldSockets.add(socket);
    const timer = setTimeout(() => socket.destroy(), HELD_REQUEST_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      heldSockets.delete(socket);
    });
  }

  async function handleControlRequest(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const route = `${request.method} ${url.pathname.replace(/\/+$/, '')}`;
    const executionMatch = /^GET \/_neptune\/executions\/(.+)$/.exec(route);

    if (route === 'GET /_neptune/calls') return writeJson(response, 200, calls.toJSON());
    if (route === 'POST /_neptune/calls/reset') {
      calls.reset();
      return writeJson(response, 200, calls.toJSON());
    }
    if (route === 'GET /_neptune/faults') return writeJson(response, 200, options.faults.listRules());
    if (route === 'PUT /_neptune/faults') {
      try {
        const rules = options.faults.setRules(JSON.parse((await readBody(request)).toString('utf8') || '[]'));
        options.logger.info('fault rules set', { rules: rules.length });
        return writeJson(response, 200, rules);
      } catch (error) {
        if (error instanceof InvalidFaultRulesError || error instanceof SyntaxError) {
          return writeJson(response, 400, { message: error.message });
        }
        throw error;
      }
    }
    if (executionMatch?.[1]) {
      const record = options.stepFunctions.findExecution(decodeURIComponent(executionMatch[1]));
      if (!record) return writeJson(response, 404, { message: `no execution named ${executionMatch[1]}` });
      return writeJson(response, 200, { ...describeExecution(record), stateTransitions: record.history.stateTransitions });
    }
    if (route === 'GET /_neptune/health') return writeJson(response, 200, { status: 'ok' });

    writeJson(response, 404, {
      message:
        'unknown local endpoint; available: GET /_neptune/calls, POST /_neptune/calls/reset, GET and PUT /_neptune/faults, ' +
        'GET /_neptune/executions/<name or ARN>, GET /_neptune/health',
    });
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') return reject(error);
      reject(new GatewayStartError(`port ${options.port} on 127.0.0.1 is in use; stop the process that uses it, or pass --port 0 for any free port`));
    };
    server.once('error', onError);
    server.listen(options.port, '127.0.0.1', () => {
      server.removeListener('error', onError);
      resolve();
    });
  });

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      for (const socket of heldSockets) socket.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      agent.destroy();
    },
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Filters a raw header list (`[name, value, name, value, ...]`) and keeps the names' case. */
function withoutHopByHop(rawHeaders: string[]): string[] {
  const kept: string[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    if (!HOP_BY_HOP_HEADERS.has(name.toLowerCase())) kept.push(name, rawHeaders[index + 1] as string);
  }
  return kept;
}

function writeJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
