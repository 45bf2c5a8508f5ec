// Load balancer membership changes. Both are idempotent: the adapter re-reads membership first.
import type { ActivityDeps, ApiAccess } from './deps';
import { withHeartbeat } from './deps';
import type { DropletTarget, LoadBalancerInfo } from '../types';

export interface MembershipInput {
  access: ApiAccess;
  loadBalancer: LoadBalancerInfo;
  droplet: DropletTarget;
}

export function loadBalancerActivities(deps: ActivityDeps) {
  return {
    async detachDroplet({ access, loadBalancer, droplet }: MembershipInput): Promise<void> {
      await withHeartbeat(() => deps.digitalOcean(access).detachDroplets(loadBalancer, [droplet.id]));
    },
    async attachDroplet({ access, loadBalancer, droplet }: MembershipInput): Promise<void> {
      await withHeartbeat(() => deps.digitalOcean(access).attachDroplets(loadBalancer, [droplet.id]));
    },
  };
}
