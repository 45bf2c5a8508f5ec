// `deploy report <workflow-id>`: a finished (or running) rollout's step timeline, as text and SVG.
import { writeFileSync } from 'node:fs';
import type { RolloutStatus } from '../workflows/messages';
import type { CliArgs } from './args';
import { connectClient } from './connect';
import { renderStatus } from './render';
import { renderTimelineSvg } from './timeline';

export async function runReport(args: CliArgs, out: (line: string) => void): Promise<number> {
  const { client, close } = await connectClient();
  try {
    const status = await client.workflow.getHandle(args.env).query<RolloutStatus>('status');
    out(renderStatus(status, Date.now()));
    if (args.svg) {
      writeFileSync(args.svg, renderTimelineSvg(`${status.app} ${status.env} → ${status.release}: ${status.phase}`, status.droplets));
      out(`timeline written to ${args.svg}`);
    }
    return 0;
  } finally {
    await close();
  }
}
