// Which workflow is the rollout of an app+environment: today's ID, or for a rollout started by an older
// version the legacy ID, but only when its search attributes name this very app and environment.
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { legacyRolloutWorkflowId, rolloutWorkflowId } from '../rollout-plan';
import { DeployApp, DeployEnv } from '../search-attributes';

export interface LocatedRollout {
  workflowId: string;
  handle: WorkflowHandle;
  running: boolean;
}

async function describe(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The newest rollout of app+env, or undefined when none has run. */
export async function locateRollout(client: Client, app: string, env: string): Promise<LocatedRollout | undefined> {
  const current = rolloutWorkflowId(app, env);
  const found = await describe(client, current);
  if (found) return { workflowId: current, handle: client.workflow.getHandle(current), running: found.status.name === 'RUNNING' };
  const legacy = legacyRolloutWorkflowId(app, env);
  const old = await describe(client, legacy);
  // shop-eu + prod and shop + eu-prod shared this ID: only the pair its search attributes name owns it.
  if (!old || old.typedSearchAttributes.get(DeployApp) !== app || old.typedSearchAttributes.get(DeployEnv) !== env) return undefined;
  return { workflowId: legacy, handle: client.workflow.getHandle(legacy), running: old.status.name === 'RUNNING' };
}
