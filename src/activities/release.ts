// The release command (migrations and the like): once per rollout, on one droplet, from the staged release,
// before any droplet leaves the load balancer. Its exit code, duration and the last 50 lines of its output are
// the record the rollout keeps and shows.
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { withSession, type RemoteInput } from './remote';
import * as commands from '../remote/commands';
import type { ReleaseCommandResult } from '../rollout-status';

export interface ReleaseCommandInput extends RemoteInput {
  releaseDir: string;
  service: string;
  command: string;
}

export function releaseActivities(deps: ActivityDeps) {
  return {
    async runReleaseCommand(input: ReleaseCommandInput): Promise<ReleaseCommandResult> {
      return withSession(deps, input, async (s) => {
        const started = Date.now();
        const r = await s.exec(commands.releaseCommand(input.remote, input.releaseDir, input.service, input.command));
        const result = { exitCode: r.code, output: `${r.stdout}${r.stderr}`.trimEnd().split('\n').slice(-50), durationMs: Date.now() - started };
        const refusal = r.stderr.split('\n').find((l) => l.startsWith(commands.RELEASE_COMMAND_REFUSAL));
        if (refusal && (r.code === commands.RELEASE_COMMAND_BUSY || r.code === commands.RELEASE_COMMAND_DONE)) {
          throw ApplicationFailure.create({
            message: `the release command was not started on ${input.droplet.name}: ${refusal.slice(commands.RELEASE_COMMAND_REFUSAL.length).trim()}; ` +
              'an earlier attempt may have run it in part or in full: check before starting another rollout',
            type: 'ReleaseCommandRefused', nonRetryable: true,
          });
        }
        if (r.code !== 0) {
          throw ApplicationFailure.create({
            message: `the release command failed on ${input.droplet.name} (exit ${r.code}): ${result.output.at(-1) ?? ''}`,
            type: 'ReleaseCommandFailed', nonRetryable: true, details: [result],
          });
        }
        return result;
      });
    },
  };
}
