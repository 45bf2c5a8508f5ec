// previewRolloutWorkflow: the plan an operator sees before a rollout (and with --dry-run), resolved on the
// worker, where the DigitalOcean token is. Short, touches nothing, and never takes the deploy lock.
import { proxyActivities } from '@temporalio/workflow';
import type { DeployActivities } from '../activities';
import type { RolloutPreview } from '../rollout-status';
import type { EnvironmentPlan } from '../types';
import { RETRY } from '../rollout-plan';

const { previewRollout } = proxyActivities<DeployActivities>({
  startToCloseTimeout: '1m',
  retry: RETRY.preview,
});

export async function previewRolloutWorkflow(input: { plan: EnvironmentPlan; batchSize: number; rollback?: { to?: string } }): Promise<RolloutPreview> {
  return previewRollout(input);
}
