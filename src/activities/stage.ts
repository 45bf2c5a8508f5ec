// Staging: before the first droplet leaves the load balancer, every droplet gets the release directory and pulls
// its images, a group of droplets per activity with bounded concurrency. Nothing running changes: `current` and
// the containers stay as they are. A retry stages only the droplets the last attempt did not finish.
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { currentContext, toFailure, withHeartbeat } from './deps';
import { mapPool } from './pool';
import { CONFIG_REFUSED } from '../failure-details';
import { checkFilesDigest, putRelease, registryPassword, run, type ReleaseFiles } from './remote';
import * as commands from '../remote/commands';
import type { RemoteSession } from '../remote/port';
import type { DropletTarget, RemoteSpec, SecretRefs } from '../types';

export interface StageInput extends ReleaseFiles {
  droplets: DropletTarget[];
  remote: RemoteSpec;
  secrets: SecretRefs;
  /** Droplets staged at once. */
  concurrency: number;
  /** The release command's service, checked against the staged compose files on the droplet it runs on. */
  releaseCommand?: { service: string; on: string };
}

/** A service the release command names must exist in the release's compose files: a configuration error, not a retry. */
export function missingService(service: string, servicesOut: string): string | undefined {
  const services = servicesOut.split('\n').map((l) => l.trim()).filter(Boolean);
  if (services.includes(service)) return undefined;
  return `rollout.releaseCommand.service "${service}" is not a service of the compose files (services: ${services.join(', ') || 'none'}); fix it in the config`;
}

/** Causes a retry cannot fix: the tag or repository is unknown, the registry refuses us, the disk is full. */
const REFUSAL = /manifest unknown|manifest for \S+ not found|not found: manifest|pull access denied|repository does not exist|unauthorized|authentication required|no basic auth credentials|denied:|no space left on device/i;

export function isStageRefusal(message: string): boolean {
  return REFUSAL.test(message);
}

export function stageActivities(deps: ActivityDeps) {
  return {
    /** Upload the release and pull its images on each droplet of the group; names every droplet that failed, and why. */
    async stageRelease(input: StageInput): Promise<{ staged: number }> {
      checkFilesDigest(deps, input);
      const password = registryPassword(deps, input.remote, input.secrets);
      const ctx = currentContext();
      const done = new Set<string>((ctx?.info.heartbeatDetails as { staged?: string[] } | undefined)?.staged ?? []);
      const open = new Set<RemoteSession>();
      const onCancel = () => open.forEach((s) => s.close());
      ctx?.cancellationSignal.addEventListener('abort', onCancel);
      const failures: { droplet: string; error: string; refused: boolean; config?: boolean }[] = [];
      const queue = input.droplets.filter((d) => !done.has(d.name));

      const stageOne = async (droplet: DropletTarget) => {
        const session = await deps.remote(input.secrets).connect(droplet, input.remote);
        open.add(session);
        try {
          // Old releases go first, so a droplet short of disk has room; `current` and the newest are kept.
          await run(session, droplet, 'prune old releases', commands.pruneReleases(input.remote));
          const dir = await putRelease(session, { ...input, droplet });
          if (input.remote.registry && password !== undefined) await run(session, droplet, 'registry login', commands.registryLogin(input.remote.registry), password);
          const rc = input.releaseCommand;
          if (rc && rc.on === droplet.name) {
            const problem = missingService(rc.service, await run(session, droplet, 'compose config --services', commands.composeIn(input.remote, 'config --services', dir)));
            if (problem) throw ApplicationFailure.create({ message: problem, type: CONFIG_REFUSED, nonRetryable: true });
          }
          await run(session, droplet, 'docker compose pull', commands.pullStaged(input.remote, dir));
          if (input.remote.pruneImages) await run(session, droplet, 'prune dangling images', commands.pruneDanglingImages());
        } finally {
          open.delete(session);
          session.close();
        }
      };

      try {
        return await withHeartbeat(async () => {
          // After a refusal no new droplet starts: the rollout stops anyway.
          await mapPool(queue, input.concurrency, async (d) => {
            try {
              await stageOne(d);
              done.add(d.name);
            } catch (err) {
              const mapped = toFailure(err) as Error;
              const error = mapped.message ?? String(err);
              const refused = isStageRefusal(error) || (mapped instanceof ApplicationFailure && mapped.nonRetryable === true);
              failures.push({ droplet: d.name, error, refused, config: mapped instanceof ApplicationFailure && mapped.type === CONFIG_REFUSED });
            }
          }, { stop: () => failures.some((f) => f.refused), details: () => ({ staged: [...done] }) });
          ctx?.cancellationSignal.throwIfAborted();
          if (failures.length) {
            // Some causes already start with the droplet's name (an SSH connection lost, say).
            const named = failures.slice(0, 3).map((f) => (f.error.startsWith(`${f.droplet}: `) ? f.error : `${f.droplet}: ${f.error}`)).join('; ');
            const more = failures.length > 3 ? ` (and ${failures.length - 3} more)` : '';
            throw ApplicationFailure.create({
              message: `staging ${input.release} failed on ${failures.length} droplet(s): ${named}${more}`,
              type: failures.some((f) => f.config) ? CONFIG_REFUSED : 'StageFailed',
              nonRetryable: failures.some((f) => f.refused),
            });
          }
          return { staged: done.size };
        }, () => ({ staged: [...done] }));
      } finally {
        ctx?.cancellationSignal.removeEventListener('abort', onCancel);
      }
    },
  };
}
