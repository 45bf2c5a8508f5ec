// Load balancer membership changes. Both are idempotent: the adapter re-reads membership first. The droplets of a
// batch that ask together share one read and one change (membership.ts).
import type { ActivityDeps, ApiAccess } from './deps';
import { currentContext, withHeartbeat } from './deps';
import { MembershipChanges, type MembershipDirection } from './membership';
import type { DropletTarget, LoadBalancerInfo } from '../types';
import type { MembershipAnswer } from '../rollout-status';

export interface MembershipInput {
  access: ApiAccess;
  loadBalancer: LoadBalancerInfo;
  droplet: DropletTarget;
  /** Droplets of its batch moving the same way at about the same time (1, or absent: on its own). */
  together?: number;
}

export function loadBalancerActivities(deps: ActivityDeps, changes = new MembershipChanges()) {
  const change = ({ access, loadBalancer, droplet, together }: MembershipInput, direction: MembershipDirection) =>
    withHeartbeat(async (): Promise<MembershipAnswer> => {
      const port = deps.digitalOcean(access);
      const already = await changes.change(port, `${access.apiUrl ?? ''}|${access.secrets.tokenEnv}|${loadBalancer.id}`, loadBalancer, direction, droplet.id, together);
      const quota = port.quota?.();
      // Only a first attempt can tell: a retry may find what its own lost attempt did.
      const firstAttempt = (currentContext()?.info.attempt ?? 1) === 1;
      const elsewhere = already && firstAttempt
        ? `${droplet.name} was already ${direction === 'detach' ? 'out of' : 'in'} load balancer ${loadBalancer.name} when this rollout went to ${direction} it: moved by someone else (or left so by an earlier run)`
        : undefined;
      return { ...(quota ? { quota } : {}), ...(elsewhere ? { changedElsewhere: elsewhere } : {}) };
    });
  return {
    async detachDroplet(input: MembershipInput): Promise<MembershipAnswer> {
      return change(input, 'detach');
    },
    async attachDroplet(input: MembershipInput): Promise<MembershipAnswer> {
      return change(input, 'attach');
    },
  };
}
