// previewRolloutWorkflow: the plan an operator sees before a rollout (and with --dry-run), resolved on the
// worker, where the DigitalOcean token is. Short, touches nothing, and never takes the deploy lock.
import { proxyActivities } from '@temporalio/workflow';
import type { DeployActivities } from '../activities';
import type { RolloutPreview } from '../rollout-status';
import type { EnvironmentPlan } from '../types';

const { previewRollout } = proxyActivities<DeployActivities>({
  startToCloseTimeout: '1m',
  // 429s and 5xx are retried a few times; a refused token or an unknown load balancer is not.
  retry: { maximumAttempts: 4, initialInterval: '1s', maximumInterval: '10s' },
});

export async function previewRolloutWorkflow(input: { plan: EnvironmentPlan; batchSize: number; rollback?: { to?: string } }): Promise<RolloutPreview> {
  return previewRollout(input);
}
