// Notifications: one JSON POST per rollout event to the webhook the worker's environment names. The body reads
// as a Slack incoming-webhook message (`text`) and carries the structured fields. A notification never fails
// or holds up a rollout: the workflow gives it a short budget and ignores its failure (which stays visible in
// the history as a failed activity).
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { currentContext } from './deps';
import { webUiLink } from '../temporal';
import type { NotificationInput, RolloutEvent } from '../rollout-status';

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

/** The webhook URL from its variable, or a refusal that names the variable and never shows what it holds. */
export function webhookUrl(deps: ActivityDeps, name: string): URL {
  const value = deps.secret(name, 'webhook URL');
  if (!value) {
    throw ApplicationFailure.create({
      message: `${name} is not set in the worker's environment: no notification sent (export ${name}=<webhook URL>)`,
      type: 'NotificationNotConfigured', nonRetryable: true,
    });
  }
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol)) {
    throw ApplicationFailure.create({
      message: `${name} does not hold an http(s) URL (check it for stray quotes or spaces from an env file); no notification sent`,
      type: 'NotificationNotConfigured', nonRetryable: true,
    });
  }
  return url;
}

export function notifyActivities(deps: ActivityDeps) {
  return {
    async sendNotification(input: NotificationInput): Promise<void> {
      const url = webhookUrl(deps, input.webhookUrlEnv);
      const info = currentContext()?.info;
      let res: Response;
      try {
        res = await deps.fetch(url, {
          method: 'POST',
          // The same key on every attempt of this notification: a receiver can drop a duplicate of a retried POST.
          headers: { 'content-type': 'application/json', ...(info ? { 'idempotency-key': `${info.workflowExecution?.runId ?? ''}/${info.activityId}` } : {}) },
          body: JSON.stringify(notificationBody(input, webUiLink(process.env.TEMPORAL_NAMESPACE || 'default', input.workflowId))),
          signal: AbortSignal.timeout(5_000),
          redirect: 'manual', // a redirect must not carry the body to another host
        });
      } catch (err) {
        // fetch's own messages can quote the URL, which is the secret: only the kind of failure is told.
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
        throw ApplicationFailure.create({ message: `the webhook in ${input.webhookUrlEnv} could not be reached (${cause})`, type: 'NotificationFailed' });
      }
      if (res.status >= 300 && res.status < 400) {
        throw ApplicationFailure.create({ message: `the webhook answered ${res.status} (a redirect, not followed): set ${input.webhookUrlEnv} to the final URL`, type: 'NotificationRejected', nonRetryable: true });
      }
      if (!res.ok) throw ApplicationFailure.create({ message: `the webhook answered ${res.status}`, type: 'NotificationRejected', nonRetryable: res.status >= 400 && res.status < 500 && res.status !== 429 });
    },
  };
}
