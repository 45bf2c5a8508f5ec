// `deploy status|pause|resume|abort <env>`: talk to the running rollout of an environment.
import { WorkflowNotFoundError } from '@temporalio/client';
import { readConfigFile, resolveEnvironment } from '../config/loader';
import { rolloutWorkflowId } from '../rollout-plan';
import { webUiLink } from '../temporal';
import type { RolloutStatus } from '../workflows/messages';
import type { CliArgs } from './args';
import { CliError, connectClient } from './connect';
import { renderStatus } from './render';

export async function runControl(args: CliArgs, out: (line: string) => void): Promise<number> {
  const config = readConfigFile(args.config);
  const plan = resolveEnvironment(args.config, config, args.env);
  const workflowId = rolloutWorkflowId(plan.app, plan.env);
  const { client, namespace, close } = await connectClient();
  try {
    const handle = client.workflow.getHandle(workflowId);
    let running = false;
    try {
      running = (await handle.describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new CliError(`no rollout of ${plan.app} to ${plan.env} has run yet (workflow ${workflowId})`, 2);
      throw err;
    }
    if (args.verb === 'status') {
      const status = await handle.query<RolloutStatus>('status');
      out(args.json ? JSON.stringify({ event: 'status', running, status }) : `${renderStatus(status, Date.now())}\n  web UI: ${webUiLink(namespace, workflowId)}`);
      return 0;
    }
    if (!running) throw new CliError(`no rollout of ${plan.app} to ${plan.env} is running; nothing to ${args.verb}`, 2);
    if (args.verb === 'abort') await handle.signal('abort', { rollback: args.rollback });
    else await handle.signal(args.verb);
    const messages: Record<string, string> = { pause: 'pause requested: the in-flight batch finishes, then the rollout waits', resume: 'resumed', abort: `abort requested${args.rollback ? ' with rollback' : ''}: in-flight droplets are restored and re-attached` };
    const what = messages[args.verb];
    out(args.json ? JSON.stringify({ event: args.verb, workflowId }) : `${workflowId}: ${what}`);
    return 0;
  } finally {
    await close();
  }
}
