// `start-deploy <env>`: validate, print the plan, start the rollout, follow it to the end.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { chooseRelease, readConfigFile, resolveEnvironment } from '../config/loader';
import { createDigitalOcean } from '../digitalocean/dots-adapter';
import { DigitalOceanError, retryTransient } from '../digitalocean/errors';
import { fleetProblems } from '../activities/fleet';
import { rolloutWorkflowId } from '../rollout-plan';
import { deploySearchAttributes } from '../search-attributes';
import { taskQueue, webUiLink } from '../temporal';
import type { Fleet } from '../types';
import type { CliArgs } from './args';
import { CliError, connectClient } from './connect';
import { renderPlan } from './render';
import { follow } from './follow';

export async function runStart(args: CliArgs, out: (line: string) => void): Promise<number> {
  const config = readConfigFile(args.config);
  const plan = resolveEnvironment(args.config, config, args.env);
  const release = chooseRelease(args.config, config.environments[args.env], args.env, args.release);
  if (args.batchSize) plan.rollout.batchSize = args.batchSize;

  const token = process.env[plan.secrets.tokenEnv];
  if (!token) {
    throw new CliError(`${plan.secrets.tokenEnv} is not set: export ${plan.secrets.tokenEnv}=<DigitalOcean API token> ` +
      `(a personal access token with read and write scope; the variable's name is digitalocean.tokenEnv in ${args.config})`, 2);
  }
  let fleet: Fleet;
  try {
    const api = createDigitalOcean({ token, apiUrl: process.env.DIGITALOCEAN_API_URL || plan.apiUrl });
    const lbRef = plan.loadBalancer;
    const droplets = await retryTransient(() => api.listDroplets(plan.droplets, plan.remote.addressType));
    fleet = { droplets, loadBalancer: lbRef ? await retryTransient(() => api.getLoadBalancer(lbRef)) : undefined };
  } catch (err) {
    if (err instanceof DigitalOceanError) throw new CliError(`cannot resolve the fleet: ${err.message}`, 2);
    throw err;
  }
  const problems = fleetProblems(plan, fleet, plan.rollout.batchSize);
  if (args.json) out(JSON.stringify({ event: 'plan', app: plan.app, env: plan.env, release, fleet, problems }));
  else out(renderPlan(plan, fleet, release, problems));
  if (problems.length) throw new CliError(`refusing to start: ${problems.length} problem(s) above`, 2);
  if (args.dryRun) {
    if (!args.json) out('dry run: nothing was changed.');
    return 0;
  }

  const workflowId = rolloutWorkflowId(plan.app, plan.env);
  const { client, namespace, close } = await connectClient();
  try {
    try {
      await client.workflow.start('rolloutWorkflow', {
        taskQueue: taskQueue(),
        workflowId,
        args: [{ plan, release }],
        workflowIdConflictPolicy: 'FAIL', // the deploy lock: one rollout per app+environment
        typedSearchAttributes: deploySearchAttributes(plan.app, plan.env, release),
        staticSummary: `rollout ${plan.app} ${plan.env} → ${release}`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new CliError(`a rollout of ${plan.app} to ${plan.env} is already running (workflow ${workflowId}).\n` +
          `  watch it:  npm run deploy -- status ${plan.env}\n  abort it:  npm run deploy -- abort ${plan.env}\n  web UI:    ${webUiLink(namespace, workflowId)}`, 2);
      }
      throw err;
    }
    out(args.json ? JSON.stringify({ event: 'started', workflowId, webUi: webUiLink(namespace, workflowId) }) : `started ${workflowId}\n  web UI: ${webUiLink(namespace, workflowId)}`);
    if (args.detach) {
      if (!args.json) out(`detached; follow with: npm run deploy -- status ${plan.env}`);
      return 0;
    }
    return await follow(client.workflow.getHandle(workflowId), { json: args.json, env: plan.env, out, live: !args.json && out === console.log && process.stdout.isTTY === true });
  } finally {
    await close();
  }
}
