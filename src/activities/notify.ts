// Notifications: one JSON POST per rollout event to the webhook the worker's environment names. The body reads
// as a Slack incoming-webhook message (`text`) and carries the structured fields. A notification never fails
// or holds up a rollout: the workflow gives it a short budget and ignores its failure (which stays visible in
// the history as a failed activity).
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { webUiLink } from '../temporal';

export type RolloutEvent = 'started' | 'paused' | 'awaiting-approval' | 'succeeded' | 'failed' | 'rolled-back' | 'aborted' | 'needs-attention';

export interface NotificationInput {
  webhookUrlEnv: string;
  event: RolloutEvent;
  app: string;
  env: string;
  release: string;
  workflowId: string;
  message?: string;
  droplets?: Record<string, number>;
  total?: number;
  needsAttention?: string[];
}

const HEADLINE: Record<RolloutEvent, string> = {
  started: 'started', paused: 'paused', 'awaiting-approval': 'is waiting for approval', succeeded: 'succeeded', failed: 'FAILED',
  'rolled-back': 'was rolled back', aborted: 'was aborted', 'needs-attention': 'NEEDS ATTENTION',
};

export function notificationBody(input: NotificationInput, webUi: string): Record<string, unknown> {
  const { webhookUrlEnv: _secretName, ...fields } = input;
  const text = `Rollout of ${input.app} ${input.release} to ${input.env} ${HEADLINE[input.event]}` +
    `${input.needsAttention?.length ? ` (detached, needs attention: ${input.needsAttention.join(', ')})` : ''}` +
    `${input.message ? `: ${input.message}` : ''} <${webUi}|Web UI>`;
  return { text, ...fields, webUi };
}

export function notifyActivities(deps: ActivityDeps) {
  return {
    async sendNotification(input: NotificationInput): Promise<void> {
      const url = deps.secret(input.webhookUrlEnv);
      if (!url) {
        throw ApplicationFailure.create({
          message: `${input.webhookUrlEnv} is not set in the worker's environment: no notification sent (export ${input.webhookUrlEnv}=<webhook URL>)`,
          type: 'NotificationNotConfigured', nonRetryable: true,
        });
      }
      const res = await deps.fetch(url, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notificationBody(input, webUiLink(process.env.TEMPORAL_NAMESPACE || 'default', input.workflowId))),
        signal: AbortSignal.timeout(5_000),
      });
      // The URL is never in a message: it is the secret.
      if (!res.ok) throw ApplicationFailure.create({ message: `the webhook answered ${res.status}`, type: 'NotificationRejected', nonRetryable: res.status >= 400 && res.status < 500 && res.status !== 429 });
    },
  };
}
