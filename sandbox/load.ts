// Steady traffic through the load balancer, counting every answer: what "zero downtime" is measured by.
import http from 'node:http';

export interface LoadReport {
  requests: number;
  ok: number;
  /** Answers with a non-2xx status. */
  non2xx: number;
  /** Requests that got no HTTP answer at all (refused, reset, timed out). */
  connectionErrors: number;
  failedRequests: number;
  byRelease: Record<string, number>;
  /** One entry per second of load: requests and failures, for the timeline. */
  perSecond: { at: number; requests: number; failed: number }[];
  firstErrors: string[];
}

export interface Load {
  stop(): Promise<LoadReport>;
  snapshot(): LoadReport;
}

/** `concurrency` loops, each sending one request every `intervalMs`, until stop() or `maxMs`. */
export function startLoad(url: string, opts: { concurrency?: number; intervalMs?: number; maxMs?: number } = {}): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 4 });
  const report: LoadReport = { requests: 0, ok: 0, non2xx: 0, connectionErrors: 0, failedRequests: 0, byRelease: {}, perSecond: [], firstErrors: [] };
  const started = Date.now();
  let running = true;
  const bucket = () => {
    const second = Math.floor((Date.now() - started) / 1000);
    while (report.perSecond.length <= second) report.perSecond.push({ at: started + report.perSecond.length * 1000, requests: 0, failed: 0 });
    return report.perSecond[second];
  };
  const fail = (why: string) => {
    report.failedRequests++;
    bucket().failed++;
    if (report.firstErrors.length < 10) report.firstErrors.push(`${new Date().toISOString()} ${why}`);
  };
  const once = () => new Promise<void>((resolve) => {
    report.requests++;
    bucket().requests++;
    const req = http.get(url, { agent, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) {
          report.ok++;
          try {
            const release = (JSON.parse(body) as { release?: string }).release ?? '?';
            report.byRelease[release] = (report.byRelease[release] ?? 0) + 1;
          } catch {
            // not JSON: still a 2xx
          }
        } else {
          report.non2xx++;
          fail(`status ${res.statusCode}: ${body.slice(0, 80)}`);
        }
        resolve();
      });
      res.on('error', (err) => {
        report.connectionErrors++;
        fail(err.message);
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 5 s')));
    req.on('error', (err) => {
      report.connectionErrors++;
      fail(err.message);
      resolve();
    });
  });
  const loops = Array.from({ length: opts.concurrency ?? 4 }, async () => {
    while (running && Date.now() - started < (opts.maxMs ?? 15 * 60_000)) {
      await once();
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
    }
  });
  return {
    snapshot: () => ({ ...report, byRelease: { ...report.byRelease }, perSecond: [...report.perSecond] }),
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return report;
    },
  };
}
