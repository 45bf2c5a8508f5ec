// `npm run demo`: a real zero-downtime rollout on this machine. Temporal dev server (Web UI on :8233),
// a worker, 4 sandbox droplets behind HAProxy, steady traffic through the LB, and a rollout v1 → v2
// started and followed by the operator CLI. Ends with a report; tears everything down on exit or Ctrl-C.
//   npm run demo -- [--report <file.json>] [--svg <timeline.svg>] [--droplets N] [--keep-ui <seconds>] [--profile demo|do-min|do-default]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runStart } from '../src/cli/start';
import { follow } from '../src/cli/follow';
import { rolloutWorkflowId, formatMs } from '../src/rollout-plan';
import { webUiLink } from '../src/temporal';
import { renderTimelineSvg } from '../src/cli/timeline';
import { rolloutView } from '../src/cli/view';
import { LB_PROFILES, SAMPLE_CONFIG, type LbProfileName } from './fleet';
import { startLoad, type LoadReport } from './load';
import { startStack, type Stack } from './stack';

export interface DemoReport {
  requests: number;
  failedRequests: number;
  non2xx: number;
  connectionErrors: number;
  byRelease: Record<string, number>;
  rollout: { workflowId: string; status: string; durationMs: number; webUi: string; message?: string };
  droplets: { name: string; state: string; release?: string; steps: { step: string; startedAt: number; endedAt?: number; ok?: boolean; how?: 'observed' | 'maximum' }[] }[];
  load: LoadReport['perSecond'];
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { report: { type: 'string' }, svg: { type: 'string' }, droplets: { type: 'string' }, 'keep-ui': { type: 'string' }, profile: { type: 'string', default: 'demo' } } });
  const profile = values.profile as LbProfileName;
  if (!Object.hasOwn(LB_PROFILES, profile)) {
    console.error(`demo: --profile must be one of ${Object.keys(LB_PROFILES).join(', ')} (the load balancer's health checks and delays), got "${values.profile}"`);
    return 2;
  }
  const say = (line: string) => console.log(line);
  let stack: Stack | undefined;
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    say('demo: tearing down (worker, fleet, Temporal dev server)');
    await stack?.stop();
  };
  process.on('SIGINT', () => {
    say('\ndemo: interrupted');
    teardown().finally(() => process.exit(130));
  });

  try {
    say('demo: starting the Temporal dev server (Web UI on http://localhost:8233) and the local fleet…');
    stack = await startStack({ ui: true, port: 7233, uiPort: 8233, droplets: Number(values.droplets ?? 4), profile, log: (l) => say(`fleet: ${l}`) });
    await stack.startWorker();
    Object.assign(process.env, stack.processEnv);
    say(`demo: worker running; ${stack.fleet.hosts.length} droplets serve v1 behind ${stack.fleet.lb.url}`);

    const load = startLoad(`${stack.fleet.lb.url}/`, { concurrency: 4, intervalMs: 50 });
    await new Promise((r) => setTimeout(r, 2000));
    say(`demo: steady load running (${load.snapshot().requests} requests so far, all through the load balancer)\n`);

    const started = Date.now();
    const args = { verb: 'start' as const, env: 'production', config: SAMPLE_CONFIG, release: 'v2', dryRun: false, detach: true, json: false, rollback: false, limit: 10 };
    const startCode = await runStart(args, say);
    if (startCode !== 0) throw new Error(`start-deploy exited ${startCode}`);
    const workflowId = rolloutWorkflowId('sample-app', 'production');
    const handle = stack.client.workflow.getHandle(workflowId);
    const code = await follow(handle, { json: false, env: 'production', out: say, detachOnSigint: false });
    const durationMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 2000)); // traffic after the last droplet settled counts too
    const traffic = await load.stop();
    const status = await rolloutView(stack.client.workflow, handle);

    const report: DemoReport = {
      requests: traffic.requests,
      failedRequests: traffic.failedRequests,
      non2xx: traffic.non2xx,
      connectionErrors: traffic.connectionErrors,
      byRelease: traffic.byRelease,
      rollout: { workflowId, status: status.phase, durationMs, webUi: webUiLink('default', workflowId), message: status.message },
      droplets: status.droplets.map((d) => ({ name: d.name, state: d.state, release: d.release, steps: d.steps })),
      load: traffic.perSecond,
    };
    say('\n=== demo report ===');
    say(`requests sent through the LB   ${report.requests}`);
    say(`failed requests                ${report.failedRequests} (non-2xx ${report.non2xx}, connection errors ${report.connectionErrors})`);
    say(`answers by release             ${Object.entries(report.byRelease).map(([r, n]) => `${r}: ${n}`).join(', ')}`);
    say(`rollout                        ${report.rollout.status} in ${formatMs(durationMs)}`);
    for (const d of report.droplets) {
      const t0 = d.steps[0]?.startedAt ?? started;
      // A drain or settle watched through the LB says so: observed, or ended at its maximum.
      const how = (s: (typeof d.steps)[number]) => (s.how === 'observed' ? ', observed' : s.how === 'maximum' ? ', at its maximum' : '');
      const steps = d.steps.map((s) => `${s.step} +${formatMs(s.startedAt - started)}${s.endedAt ? ` (${formatMs(s.endedAt - s.startedAt)}${how(s)})` : ''}`).join(' → ');
      say(`  ${d.name.padEnd(6)} ${d.state.padEnd(9)} from +${formatMs(t0 - started)}: ${steps}`);
    }
    for (const e of traffic.firstErrors) say(`  error: ${e}`);
    say(`Web UI: ${report.rollout.webUi}`);
    if (values.report) {
      writeFileSync(values.report, JSON.stringify(report, null, 2));
      say(`report written to ${values.report}`);
    }
    if (values.svg) {
      writeFileSync(values.svg, renderTimelineSvg(`sample-app production v1 → v2: ${report.rollout.status}, ${report.failedRequests} failed of ${report.requests} requests`, report.droplets, report.load));
      say(`timeline written to ${values.svg}`);
    }
    const keep = Number(values['keep-ui'] ?? 0);
    if (keep > 0) {
      say(`demo: keeping the Web UI up for ${keep}s (Ctrl-C to stop)`);
      await new Promise((r) => setTimeout(r, keep * 1000));
    }
    return code === 0 && report.failedRequests === 0 ? 0 : 1;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
