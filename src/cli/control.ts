// `deploy status|watch|history|pause|resume|abort <env>`: the rollouts of an environment, running or past.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { appAndEnvironment } from '../config/loader';
import { rolloutWorkflowId } from '../rollout-plan';
import { webUiLink } from '../temporal';
import { messageOf } from '../failure-details';
import { abortSignal, approveUpdate, pauseSignal, resumeSignal } from '../workflows/messages';
import { locateRollout } from './locate';
import type { CliArgs } from './args';
import { CliError, connectClient } from './connect';
import { renderStatus } from './render';
import { follow } from './follow';
import { rolloutView } from './view';
import { rolloutHistory, renderHistory } from './history';

export async function runControl(args: CliArgs, out: (line: string) => void): Promise<number> {
  // Only the app and environment names: no files, no secrets, so any machine with the config (or --app) will do.
  const plan = args.app ? { app: args.app, env: args.env } : appAndEnvironment(args.config, args.env);
  const { client, namespace, close } = await connectClient();
  try {
    if (args.verb === 'history') {
      const entries = await rolloutHistory(client, namespace, plan.app, plan.env, args.limit);
      out(args.json ? entries.map((e) => JSON.stringify({ event: 'rollout', ...e })).join('\n') : renderHistory(entries));
      return 0;
    }
    const located = await locateRollout(client, plan.app, plan.env);
    if (!located) throw new CliError(`no rollout of ${plan.app} to ${plan.env} has run yet (workflow ${rolloutWorkflowId(plan.app, plan.env)})`, 2);
    const { handle, running, workflowId } = located;
    if (args.verb === 'status') {
      const status = await rolloutView(client.workflow, handle);
      out(args.json ? JSON.stringify({ event: 'status', running, status }) : `${renderStatus(status, Date.now())}\n  web UI: ${webUiLink(namespace, workflowId)}`);
      return 0;
    }
    if (!running) throw new CliError(`no rollout of ${plan.app} to ${plan.env} is running; nothing to ${args.verb}`, 2);
    if (args.verb === 'watch') return await follow(handle, { json: args.json, env: plan.env, out, live: !args.json && out === console.log && process.stdout.isTTY === true });
    if (args.verb === 'approve') {
      // An update, not a signal: the rollout answers, and refuses with its reason when it is not waiting.
      try {
        const answer = await handle.executeUpdate(approveUpdate);
        out(args.json ? JSON.stringify({ event: 'approve', workflowId, message: answer }) : `${workflowId}: ${answer}`);
        return 0;
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) throw new CliError(`approval refused: ${messageOf(err.cause ?? err)}`, 2);
        throw err;
      }
    }
    if (args.verb === 'abort') await handle.signal(abortSignal, { rollback: args.rollback });
    else if (args.verb === 'pause') await handle.signal(pauseSignal);
    else if (args.verb === 'resume') await handle.signal(resumeSignal);
    else throw new CliError(`${args.verb} is not a control verb`, 2);
    const messages: Record<string, string> = { pause: 'pause requested: the in-flight batch finishes, then the rollout waits', resume: 'resumed', abort: `abort requested${args.rollback ? ' with rollback' : ''}: in-flight droplets are restored and re-attached` };
    const what = messages[args.verb];
    out(args.json ? JSON.stringify({ event: args.verb, workflowId }) : `${workflowId}: ${what}`);
    return 0;
  } finally {
    await close();
  }
}
