// Follow a running rollout: poll its status query, print what changed, map the end to an exit code.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { RolloutResult, RolloutStatus } from '../rollout-status';
import { progressLines, renderStatus } from './render';
import { findDetail, messageOf } from '../failure-details';
import { rolloutView, type ViewCache } from './view';

export const EXIT = { succeeded: 0, failed: 1, 'rolled-back': 1, aborted: 3 } as const;

/** The RolloutResult a failed rollout carries in its failure details. */
export function outcomeOf(err: unknown): RolloutResult | undefined {
  return findDetail<RolloutResult>(err, (v) => 'status' in v && 'droplets' in v);
}

export interface FollowOptions {
  json: boolean;
  env: string;
  out: (line: string) => void;
  pollMs?: number;
  detachOnSigint?: boolean;
  /** Redraw one row per droplet in place (a terminal); otherwise print timestamped lines. */
  live?: boolean;
}

export async function follow(handle: WorkflowHandle, opts: FollowOptions): Promise<number> {
  let last: RolloutStatus | undefined;
  const cache: ViewCache = new Map();
  const client = handle.client;
  let drawn = 0;
  const redraw = (status: RolloutStatus) => {
    const block = renderStatus(status, Date.now());
    process.stdout.write(`${drawn ? `\x1b[${drawn}A\x1b[0J` : ''}${block}\n`);
    drawn = block.split('\n').length;
  };
  let done = false;
  const onSigint = () => {
    opts.out(`\ndetached from ${handle.workflowId}; the rollout keeps running.\n` +
      `  follow:  npm run deploy -- status ${opts.env}\n  pause:   npm run deploy -- pause ${opts.env}\n  abort:   npm run deploy -- abort ${opts.env} [--rollback]`);
    process.exit(0);
  };
  if (opts.detachOnSigint !== false) process.once('SIGINT', onSigint);
  const poll = async () => {
    while (!done) {
      try {
        const status = await rolloutView(client, handle, cache);
        if (opts.json) {
          if (JSON.stringify(status) !== JSON.stringify(last)) opts.out(JSON.stringify({ event: 'status', status }));
        } else if (opts.live) {
          redraw(status);
        } else {
          for (const line of progressLines(last, status)) opts.out(line);
        }
        last = status;
      } catch {
        // the workflow may not have run its first task yet, or just closed
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    }
  };
  const polling = poll();
  let result: RolloutResult | undefined;
  let failure: unknown;
  try {
    result = await handle.result();
  } catch (err) {
    failure = err;
    result = outcomeOf(err);
  } finally {
    done = true;
    process.removeListener('SIGINT', onSigint);
  }
  await polling;
  try {
    last = await rolloutView(client, handle, cache);
  } catch {
    // a closed workflow still answers queries on most servers; if not, the result suffices
  }
  if (!result) {
    // The client's line ("Workflow execution terminated") and what lies under it.
    const why = failure instanceof WorkflowFailedError ? `${failure.message}: ${failure.cause ? messageOf(failure.cause) : ''}` : String(failure);
    opts.out(opts.json ? JSON.stringify({ event: 'end', status: 'failed', message: why }) : `rollout ended without a result: ${why}`);
    return 1;
  }
  if (opts.json) opts.out(JSON.stringify({ event: 'end', ...result }));
  else {
    if (last && opts.live) redraw(last);
    else if (last) opts.out(renderStatus(last, Date.now()));
    opts.out(`${result.status.toUpperCase()}: ${result.message}`);
  }
  // Refused by preflight: nothing was touched, so it exits like any configuration error.
  return result.refused ? 2 : EXIT[result.status];
}
