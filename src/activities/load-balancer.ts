// Load balancer membership changes. Both are idempotent: the adapter re-reads membership first. The droplets of a
// batch that ask together share one read and one change (membership.ts).
import type { ActivityDeps, ApiAccess } from './deps';
import { withHeartbeat } from './deps';
import { MembershipChanges, type MembershipDirection } from './membership';
import type { DropletTarget, LoadBalancerInfo, QuotaReading } from '../types';

export interface MembershipInput {
  access: ApiAccess;
  loadBalancer: LoadBalancerInfo;
  droplet: DropletTarget;
  /** Droplets of its batch moving the same way at about the same time (1, or absent: on its own). */
  together?: number;
}

export function loadBalancerActivities(deps: ActivityDeps, changes = new MembershipChanges()) {
  // Answers the token's quota after the change (undefined without ratelimit headers): the rollout's status shows it.
  const change = ({ access, loadBalancer, droplet, together }: MembershipInput, direction: MembershipDirection) =>
    withHeartbeat(async () => {
      const port = deps.digitalOcean(access);
      await changes.change(port, `${access.apiUrl ?? ''}|${access.secrets.tokenEnv}|${loadBalancer.id}`, loadBalancer, direction, droplet.id, together);
      return port.quota?.();
    });
  return {
    async detachDroplet(input: MembershipInput): Promise<QuotaReading | undefined> {
      return change(input, 'detach');
    },
    async attachDroplet(input: MembershipInput): Promise<QuotaReading | undefined> {
      return change(input, 'attach');
    },
  };
}
