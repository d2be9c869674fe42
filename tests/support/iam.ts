import { runSimulation } from '@cloud-copilot/iam-simulate';

/**
 * Evaluates one request against identity policies with an IAM policy evaluator, because moto
 * ignores Resource and Condition when it checks authorization and so cannot prove a denial.
 */
export async function isAllowed(
  policies: unknown[],
  request: { principal: string; action: string; resource: string; context?: Record<string, string> },
): Promise<boolean> {
  const response = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: '123456789012' },
        contextVariables: request.context ?? {},
      },
      identityPolicies: policies.map((policy, index) => ({ name: `policy${index}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(`IAM simulation failed: ${JSON.stringify(response.errors)}`);
  return response.overallResult === 'Allowed';
}
