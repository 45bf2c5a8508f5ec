// `deploy report <workflow-id>`: a finished (or running) rollout's step timeline, as text and SVG.
import { writeFileSync } from 'node:fs';
import { rolloutView } from './view';
import type { CliArgs } from './args';
import { connectClient } from './connect';
import { renderStatus } from './render';
import { renderStepLines, renderTimelineSvg } from './timeline';

export async function runReport(args: CliArgs, out: (line: string) => void): Promise<number> {
  const { client, close } = await connectClient();
  try {
    const status = await rolloutView(client.workflow, client.workflow.getHandle(args.env));
    out(renderStatus(status, Date.now()));
    const steps = renderStepLines(status.droplets);
    out(steps.length ? `steps (from the first step; durations):\n${steps.join('\n')}` : 'no steps recorded (a large fleet lists only the batch in flight and the droplets that did not simply deploy)');
    if (args.svg) {
      writeFileSync(args.svg, renderTimelineSvg(`${status.app} ${status.env} → ${status.release}: ${status.phase}`, status.droplets));
      out(`timeline written to ${args.svg}`);
    }
    return 0;
  } finally {
    await close();
  }
}
