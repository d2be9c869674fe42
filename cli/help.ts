/** Help texts: `neptune --help` and `neptune COMMAND --help`. */

const EXIT_CODES = `Exit codes:
  0    success (push: every declared secret is Available)
  1    the stack answered, but the outcome is not what was asked: a secret is not
       Available, a value was not set, a key was rejected, the backend rejected the
       manifest, or the project has no status yet
  2    invalid usage or input, found before anything was sent: unknown option,
       missing --project, invalid manifest, malformed .env file, value given as an
       argument
  3    configuration or AWS access: a NEPTUNE_* variable is missing, the endpoint is
       unreachable, no credentials or region, access denied, a resource not found
  4    push stopped waiting before provisioning finished (--timeout)
  130  interrupted with Ctrl-C`;

const ENVIRONMENT = `Environment:
  NEPTUNE_BUCKET               bucket that receives <project>/neptune.json (push)
  NEPTUNE_TABLE                status table (push, status, secret import)
  NEPTUNE_SET_VALUE_FUNCTION   set-value function (secret set, secret import)
  NEPTUNE_REDEPLOYED_FUNCTION  mark-redeployed function (deployed)
  AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE and the other AWS variables are read
  as the AWS CLI reads them. For the local stack run \`source .local/stack.env\`
  after \`neptune local\` has started it. NO_COLOR turns colours off.`;

const GLOBAL_OPTIONS = `Options of every command:
  --profile NAME  AWS profile to use (sets AWS_PROFILE)
  --region NAME   AWS region to use (sets AWS_REGION)
  --debug         print the stack trace of an error (never a secret value)
  -h, --help      show help`;

export const MAIN_HELP = `Usage: neptune COMMAND [options]

Declares, provisions and fills Neptune secrets from the command line.

Commands:
  push [FILE]            validate and upload neptune.json, follow provisioning
  status                 show each secret's status, value and redeploy state
  secret set NAME        set one secret's value from a hidden prompt or stdin
  secret import FILE     set secrets from a .env file, one key at a time
  deployed               record that the service was redeployed
  local                  start the local stack on 127.0.0.1

Run \`neptune COMMAND --help\` for a command's options, \`neptune --version\` for
the version.

${GLOBAL_OPTIONS}

${ENVIRONMENT}

${EXIT_CODES}
`;

export const COMMAND_HELP: Record<string, string> = {
  push: `Usage: neptune push [FILE] --project ID [--timeout SECONDS]

Validates FILE (default ./neptune.json) with the same rules as the backend,
uploads it to s3://$NEPTUNE_BUCKET/ID/neptune.json and follows provisioning by
reading the status table until the upload is applied or rejected. On a terminal
each secret gets a live status line; otherwise one line is printed per change.
Ends with the status table.

Options:
  --project ID        project id: lowercase letters and digits, at most 32
  --timeout SECONDS   how long to wait for provisioning (default 600)

Exits 0 only if every declared secret is Available.

${GLOBAL_OPTIONS}

${EXIT_CODES}
`,

  status: `Usage: neptune status --project ID [--json]

Shows each secret of the project: its status, AWS id (the physical name), whether
a value is set, whether the service needs a redeploy to read a new value, and the
error of a failed secret or the deletion date of one pending deletion.

Options:
  --project ID  project id
  --json        print a JSON array, one object per secret, with the fields kind,
                name, status, aws_id, value_set, redeploy_required and, where they
                apply, value_version, value_set_at, error_code, error_message,
                deletion_date

Exits 0 when the status could be read, whatever it is.

${GLOBAL_OPTIONS}

${EXIT_CODES}
`,

  secret: `Usage: neptune secret set NAME --project ID
       neptune secret import FILE.env --project ID [--manifest FILE]

Run \`neptune secret set --help\` or \`neptune secret import --help\`.
`,

  'secret set': `Usage: neptune secret set NAME --project ID

Sets the value of secret NAME and prints the new version id. On a terminal the
value is read from a hidden prompt that does not echo. When standard input is a
pipe or a file, all of it is read, so multi-line values work; exactly one
trailing newline (\\n or \\r\\n) is removed:

  printf '%s' "$VALUE" | neptune secret set NAME --project ID
  neptune secret set TLS_KEY --project ID < key.pem

A value is never accepted as an argument, because the shell would keep it in its
history and other users could see it in the process list.

Options:
  --project ID                 project id
  --value VALUE                rejected unless --insecure-value-argument is given
  --insecure-value-argument    accept --value despite the risk above (for
                               throwaway test values only)

A value is at most 65,536 bytes of UTF-8 and must not be empty. The service
reads the new value only after a redeploy.

${GLOBAL_OPTIONS}

${EXIT_CODES}
`,

  'secret import': `Usage: neptune secret import FILE.env --project ID [--manifest FILE]

Sets each key of a .env file as a separate secret value. A key that fails is
reported on its own line and the other keys are still set. Keys that the
project's manifest does not declare are rejected, listed by name, and not set;
the declared keys are still set.

The declared names are read from the status table, or from FILE with
--manifest. The file is checked before anything is set; if a line is malformed,
each problem is reported with its line number and nothing is set.

.env syntax:
  KEY=value                 spaces around = are allowed
  export KEY=value          the export prefix is ignored
  KEY=a=b                   the value is everything after the first =
  KEY=value # comment       # after whitespace starts a comment; unquoted
                            values are trimmed
  KEY='literal $value'      single quotes: every character literal, may span lines
  KEY="line1\\nline2"        double quotes: \\n \\r \\t \\" \\\\ escapes, may span lines
  # comment                 full-line comments and blank lines are skipped
A key defined twice is a malformed line.

Options:
  --project ID      project id
  --manifest FILE   read the declared names from this neptune.json instead of
                    the status table

Exits 0 when every key was set, 1 when a key was rejected or failed.

${GLOBAL_OPTIONS}

${EXIT_CODES}
`,

  deployed: `Usage: neptune deployed --project ID [--started-at TIME]

Records that the service was redeployed, so secrets whose value was set before
the deploy started no longer show "redeploy required".

Options:
  --project ID         project id
  --started-at TIME    ISO 8601 time the deploy began (default: now). A deploy
                       pipeline should pass the time it started, so that a value
                       set while it ran still shows as needing a redeploy.

${GLOBAL_OPTIONS}

${EXIT_CODES}
`,

  local: `Usage: neptune local [--port N] [--quiet]

Starts the local stack (moto and the local Lambda, Step Functions and S3 event
delivery) on 127.0.0.1 and writes .local/stack.env in this package's directory,
the same as \`npm run local\` (\`npm start\` without the example project). Stop
it with Ctrl-C. In another shell run \`source .local/stack.env\`, then use the
other commands.

Needs moto_server on PATH (pip install 'moto[server]').

Options:
  --port N     gateway port on 127.0.0.1; 0 picks a free port (default 4566, or
               $NEPTUNE_LOCAL_PORT)
  --quiet      log only errors
  -h, --help   show help

The stack's exit code is passed on: 0 after Ctrl-C, 1 when it failed to start.
`,
};
