// One load-balancer membership change at a time per LB, made for every droplet that asked in the meantime.
//
// Why on the worker, not in a workflow: every droplet keeps its own detach and attach activity (its step, its
// retries, its timeout, its cancellation), and the history holds nothing new. The activities of a batch land on
// the worker within milliseconds of each other (or within a batch's worth of workflow tasks), so a short gather
// turns a batch's detaches into one read and one change; asks that arrive while a change is in flight (or the LB is
// busy after it) wait and go in the next one. A batch spread over several workers makes one change per worker:
// more calls, never a wrong one, since each change re-reads the LB and applies only the difference.
import type { DigitalOceanPort } from '../digitalocean/port';
import type { LoadBalancerInfo } from '../types';

export type MembershipDirection = 'attach' | 'detach';

/**
 * A first ask waits for the rest of its batch while they keep coming: the change goes once the batch is complete,
 * or no other ask has come for QUIET_MS, or after GATHER_MS at most. A hundred children's first activities reach a
 * worker over seconds (each child's workflow task first); a fixed window split such a batch into several changes
 * that ran into each other's busy windows.
 */
export const GATHER_MS = 10_000;
const QUIET_MS = 750;

interface Ask {
  /** The client and the LB as this ask knows them (a later rollout may bring a newer LB record or token). */
  port: DigitalOceanPort;
  lb: LoadBalancerInfo;
  direction: MembershipDirection;
  dropletId: number;
  /** True when the LB already had the droplet as asked (before this change). */
  resolve: (alreadyAsAsked: boolean) => void;
  reject: (err: unknown) => void;
}

/** The changes one LB is waiting for, and the loop that makes them one call per direction. */
class LbMembership {
  private readonly asks: Ask[] = [];
  private running = false;
  private lastAskAt = 0;
  /** How many asks the batch being gathered expects (its size): a full batch goes without waiting. */
  private expected = 0;

  constructor(private readonly gatherMs: number) {}

  ask(port: DigitalOceanPort, lb: LoadBalancerInfo, direction: MembershipDirection, dropletId: number, together: number): Promise<boolean> {
    this.expected = Math.max(this.expected, together);
    this.lastAskAt = Date.now();
    const done = new Promise<boolean>((resolve, reject) => this.asks.push({ port, lb, direction, dropletId, resolve, reject }));
    if (!this.running) void this.run();
    return done;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      await this.gather();
      while (this.asks.length) {
        // The oldest ask's direction goes first; its companions in that direction go with it.
        const direction = this.asks[0].direction;
        const round = this.asks.filter((a) => a.direction === direction);
        this.asks.splice(0, this.asks.length, ...this.asks.filter((a) => a.direction !== direction));
        this.expected = 0;
        const ids = [...new Set(round.map((a) => a.dropletId))];
        try {
          const { port, lb } = round[round.length - 1];
          const { alreadyAsAsked } = await (direction === 'detach' ? port.detachDroplets(lb, ids) : port.attachDroplets(lb, ids));
          for (const a of round) a.resolve(alreadyAsAsked.includes(a.dropletId));
        } catch (err) {
          for (const a of round) a.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** Until every droplet of the batch has asked in the first ask's direction, they stop coming, or the gather time is over. */
  private async gather(): Promise<void> {
    const until = Date.now() + this.gatherMs;
    const direction = this.asks[0]?.direction;
    const quiet = Math.min(QUIET_MS, this.gatherMs);
    while (Date.now() < until && Date.now() - this.lastAskAt < quiet && this.asks.filter((a) => a.direction === direction).length < this.expected) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Every LB this worker changes, by API and LB ID. */
export class MembershipChanges {
  private readonly lbs = new Map<string, LbMembership>();

  constructor(private readonly gatherMs = GATHER_MS) {}

  /**
   * Resolves once a change including `dropletId` has been made (true: the LB already had it as asked); rejects with
   * that change's error. `together`: how many droplets of its batch are expected to ask the same way.
   */
  change(port: DigitalOceanPort, key: string, lb: LoadBalancerInfo, direction: MembershipDirection, dropletId: number, together = 1): Promise<boolean> {
    let membership = this.lbs.get(key);
    if (!membership) {
      membership = new LbMembership(this.gatherMs);
      this.lbs.set(key, membership);
    }
    return membership.ask(port, lb, direction, dropletId, together);
  }
}
