#!/usr/bin/env node
// Entry point of the `neptune` command. The command is written in TypeScript and runs through
// tsx's ESM loader, registered here for this process only, so no build step is needed.
import { register } from 'tsx/esm/api';

// The SDK warns on every run under Node 20 that its 2027 releases need Node 22; that is about
// upgrading this package, not about the command the user ran.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../main.ts');
const exitCode = await main(process.argv.slice(2));
// Waits for buffered output to drain before exiting, so piped output is never cut short.
process.stdout.write('', () => process.exit(exitCode));
