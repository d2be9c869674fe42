#!/usr/bin/env bash
# Packages the stack for the `ci` stage and checks what it produced, with no AWS credentials
# and no network. osls writes the CloudFormation template and the function bundles to
# .serverless/. Then cfn-lint checks the template and asl-validator the state machine, and the
# tests in tests/deploy check the roles' policies, the state machine's functions and the local
# stack against the template.
set -euo pipefail

cd "$(dirname "$0")/.."

# osls must never reach AWS or the network while packaging: no telemetry, no update notices,
# and no instance metadata lookup by the AWS SDK when it searches for credentials.
export SLS_TELEMETRY_DISABLED=1
export SLS_NOTIFICATIONS_MODE=off
export AWS_EC2_METADATA_DISABLED=true

stage=ci
template=.serverless/cloudformation-template-update-stack.json

if command -v cfn-lint >/dev/null 2>&1; then
  cfn_lint=(cfn-lint)
elif python3 -m cfnlint --version >/dev/null 2>&1; then
  cfn_lint=(python3 -m cfnlint)
else
  echo "cfn-lint was not found; install it with 'pip install cfn-lint' (the npm package of that name is a different tool)" >&2
  exit 1
fi

echo "==> serverless package --stage $stage"
node_modules/.bin/serverless package --stage "$stage"

echo "==> cfn-lint $template"
"${cfn_lint[@]}" "$template"
echo "cfn-lint: no errors or warnings"

echo "==> asl-validator"
for definition in statemachines/*.asl.json; do
  node_modules/.bin/asl-validator --json-path "$definition"
done

echo "==> tests/deploy"
node_modules/.bin/vitest run --config tests/deploy/vitest.config.ts
