// The operator CLI: `npm run start-deploy -- <env>` and `npm run deploy -- status|pause|resume|abort <env>`.
import { ConfigError } from './config/loader';
import { HelpRequested, USAGE, UsageError, parseCli } from './cli/args';
import { CliError } from './cli/connect';
import { runStart } from './cli/start';
import { runControl } from './cli/control';
import { runReport } from './cli/report';

export async function main(argv: string[], out: (line: string) => void = console.log, err: (line: string) => void = console.error): Promise<number> {
  try {
    const args = parseCli(argv);
    if (args.verb === 'start' || args.verb === 'rollback') return await runStart(args, out);
    if (args.verb === 'report') return await runReport(args, out);
    return await runControl(args, out);
  } catch (e) {
    if (e instanceof HelpRequested) {
      out(e.message);
      return 0;
    }
    if (e instanceof UsageError) {
      err(e.message ? `error: ${e.message}\n\n${USAGE}` : USAGE);
      return 2;
    }
    if (e instanceof ConfigError) {
      err(`error: ${e.message}`);
      return 2;
    }
    if (e instanceof CliError) {
      err(`error: ${e.message}`);
      return e.exitCode;
    }
    err(`error: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
