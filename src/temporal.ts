// How the worker and the CLI reach Temporal: @temporalio/envconfig (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS*, or a profile file), defaulting to the local dev server.
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';

/** Read at call time, so a process that sets DEPLOY_TASK_QUEUE after start-up still gets it. */
export function taskQueue(): string {
  return process.env.DEPLOY_TASK_QUEUE || 'deploy';
}
export const DEFAULT_ADDRESS = 'localhost:7233';

export interface TemporalTarget {
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
}

export function temporalTarget(): TemporalTarget {
  const config = loadClientConnectConfig();
  const options = config.connectionOptions;
  return {
    connectionOptions: { ...options, address: options.address || DEFAULT_ADDRESS },
    namespace: config.namespace || 'default',
  };
}

/** The Web UI link to one workflow, for the local dev server unless TEMPORAL_UI_URL says otherwise. */
export function webUiLink(namespace: string, workflowId: string, runId?: string): string {
  const base = (process.env.TEMPORAL_UI_URL || 'http://localhost:8233').replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}

export function unreachableHelp(address: string): string {
  return `cannot reach the Temporal server at ${address}.\n` +
    `  Start one locally:   npm run temporal   (temporal server start-dev with the Deploy* search attributes)\n` +
    `  Or point at yours:   TEMPORAL_ADDRESS=host:7233 [TEMPORAL_NAMESPACE=…] [TEMPORAL_API_KEY=…]`;
}
