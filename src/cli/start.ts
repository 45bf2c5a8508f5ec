// `start-deploy <env>`: the plan (resolved on the worker, where the token is), then start the rollout and
// follow it to the end. The operator's machine needs the config and a Temporal connection, no secrets.
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client } from '@temporalio/client';
import { chooseRelease, readConfigFile, resolveEnvironment } from '../config/loader';
import { dropletAt } from '../compact';
import { rolloutWorkflowId } from '../rollout-plan';
import { deploySearchAttributes } from '../search-attributes';
import { taskQueue, webUiLink } from '../temporal';
import { isTimeout, messageOf } from '../failure-details';
import type { EnvironmentPlan, Fleet } from '../types';
import type { RolloutPreview } from '../rollout-status';
import type { previewRolloutWorkflow, rolloutWorkflow } from '../workflows';
import { WORKFLOW_TYPES } from '../workflows/messages';
import type { CliArgs } from './args';
import { CliError, connectClient } from './connect';
import { renderPlan, renderRollbackPlan } from './render';
import { follow } from './follow';
import { locateRollout } from './locate';

/** How long the CLI waits for the worker's plan before it says the worker is not answering. */
const PREVIEW_TIMEOUT_MS = 90_000;

export async function runStart(args: CliArgs, out: (line: string) => void): Promise<number> {
  const config = readConfigFile(args.config);
  // The files are read by the worker (its preflight names any that are missing), not on this machine.
  const plan = resolveEnvironment(args.config, config, args.env, { checkFiles: false });
  const rollback = args.verb === 'rollback' ? { ...(args.to ? { to: args.to } : {}) } : undefined;
  // A rollback's "release" is a label: each droplet goes to its own recorded release.
  const release = rollback ? (args.to ?? 'previous release') : chooseRelease(args.config, config.environments[args.env], args.env, args.release);
  if (args.batchSize) plan.rollout.batchSize = args.batchSize;
  if (args.approveAfterFirstBatch) plan.rollout.approve = 'after-first-batch';

  const workflowId = rolloutWorkflowId(plan.app, plan.env);
  const { client, namespace, close } = await connectClient();
  try {
    const preview = await previewOnWorker(client, plan, rollback);
    const fleet: Fleet = { droplets: preview.fleet.ids.map((_, i) => dropletAt(preview.fleet, i)), loadBalancer: preview.loadBalancer, ...(preview.quota ? { quota: preview.quota } : {}) };
    const problems = preview.problems;
    if (args.json) out(JSON.stringify({ event: 'plan', app: plan.app, env: plan.env, release, fleet, problems, ...(rollback ? { targets: preview.targets } : {}) }));
    else out(rollback ? renderRollbackPlan(plan, fleet, preview.targets ?? {}, problems) : renderPlan(plan, fleet, release, problems));
    if (problems.length) throw new CliError(`refusing to start: ${problems.length} problem(s) above`, 2);
    if (args.dryRun) {
      if (!args.json) out('dry run: nothing was changed.');
      return 0;
    }
    const running = await locateRollout(client, plan.app, plan.env);
    const refuseLocked = (id: string) => new CliError(`a rollout of ${plan.app} to ${plan.env} is already running (workflow ${id}).\n` +
      `  watch it:  npm run deploy -- status ${plan.env}\n  abort it:  npm run deploy -- abort ${plan.env}\n  web UI:    ${webUiLink(namespace, id)}`, 2);
    // A rollout started by an older version holds the lock under its old ID.
    if (running?.running) throw refuseLocked(running.workflowId);
    try {
      await client.workflow.start<typeof rolloutWorkflow>(WORKFLOW_TYPES.rollout, {
        taskQueue: taskQueue(),
        workflowId,
        args: [{ plan, release, ...(rollback ? { rollback } : {}) }],
        workflowIdConflictPolicy: 'FAIL', // the deploy lock: one rollout per app+environment
        typedSearchAttributes: deploySearchAttributes(plan.app, plan.env, release),
        staticSummary: rollback ? `rollback ${plan.app} ${plan.env} → ${release}` : `rollout ${plan.app} ${plan.env} → ${release}`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw refuseLocked(workflowId);
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

/** The fleet and its problems, from a short workflow on the worker; a clear refusal when no worker answers. */
async function previewOnWorker(client: Client, plan: EnvironmentPlan, rollback?: { to?: string }): Promise<RolloutPreview> {
  const queue = taskQueue();
  const pollers = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace, taskQueue: { name: queue }, taskQueueType: 1, // workflow tasks
  });
  if (!pollers.pollers?.length) {
    throw new CliError(`no worker is polling task queue "${queue}" on this Temporal server, so nothing can plan or run the rollout.\n` +
      `  start one where the secrets and the files are: npm run worker (or the worker image; see "Running it for a team" in the README)`, 2);
  }
  try {
    return await client.workflow.execute<typeof previewRolloutWorkflow>(WORKFLOW_TYPES.preview, {
      taskQueue: queue,
      workflowId: `preview-${plan.app}.${plan.env}-${Date.now()}`,
      args: [{ plan, batchSize: plan.rollout.batchSize, ...(rollback ? { rollback } : {}) }],
      workflowExecutionTimeout: PREVIEW_TIMEOUT_MS,
      staticSummary: `plan ${plan.app} ${plan.env}`,
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      const why = messageOf(err.cause ?? err);
      if (isTimeout(err)) {
        throw new CliError(`the worker did not answer within ${PREVIEW_TIMEOUT_MS / 1000}s (task queue "${queue}"); is it overloaded or stuck? ${why}`, 2);
      }
      throw new CliError(`cannot resolve the fleet: ${why}`, 2);
    }
    throw err;
  }
}
