// `deploy history <env>`: past rollouts from Temporal's visibility, found by their search attributes.
import type { Client } from '@temporalio/client';
import { webUiLink } from '../temporal';
import type { RolloutResult } from '../rollout-status';
import { outcomeOf } from './follow';

export interface HistoryEntry {
  workflowId: string;
  runId: string;
  release: string;
  status: string;
  startedAt: string;
  closedAt?: string;
  outcome?: RolloutResult['status'];
  dropletsChanged?: number;
  message?: string;
  webUi: string;
}

/** The visibility query operators can also paste into the Web UI. */
export function historyQuery(app: string, env: string): string {
  // A large rollout continues as new between batches: only its last run stands for it.
  return `WorkflowType = "rolloutWorkflow" AND DeployApp = "${app}" AND DeployEnv = "${env}" AND ExecutionStatus != "ContinuedAsNew"`;
}

export async function rolloutHistory(client: Client, namespace: string, app: string, env: string, limit: number): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  for await (const wf of client.workflow.list({ query: historyQuery(app, env), pageSize: limit })) {
    const release = wf.typedSearchAttributes.getAll().find((p) => p.key.name === 'DeployRelease')?.value;
    const entry: HistoryEntry = {
      workflowId: wf.workflowId, runId: wf.runId, release: String(release ?? '?'), status: wf.status.name,
      startedAt: wf.startTime.toISOString(), closedAt: wf.closeTime?.toISOString(), webUi: webUiLink(namespace, wf.workflowId, wf.runId),
    };
    if (wf.status.name !== 'RUNNING') {
      let result: RolloutResult | undefined;
      try {
        result = await client.workflow.getHandle(wf.workflowId, wf.runId).result();
      } catch (err) {
        result = outcomeOf(err);
      }
      if (result) {
        entry.outcome = result.status;
        entry.message = result.message;
        entry.dropletsChanged = result.counts ? (result.counts.deployed ?? 0) : result.droplets.filter((d) => d.outcome === 'deployed').length;
      }
    }
    entries.push(entry);
    if (entries.length >= limit) break;
  }
  return entries;
}

export function renderHistory(entries: HistoryEntry[]): string {
  if (entries.length === 0) return 'no rollouts found';
  return entries.map((e) => {
    const outcome = e.outcome ?? e.status.toLowerCase();
    const changed = e.dropletsChanged === undefined ? '' : `, ${e.dropletsChanged} droplet(s) updated`;
    return `${e.startedAt.replace('T', ' ').slice(0, 19)} → ${e.closedAt ? e.closedAt.slice(11, 19) : 'running '}  ${e.release.padEnd(12)} ${outcome}${changed}\n    ${e.webUi}`;
  }).join('\n');
}
