// What the deployer needs from DigitalOcean, nothing more. There is deliberately no way to delete anything.
import type { DropletSelector, DropletTarget, LoadBalancerInfo, LoadBalancerRef, QuotaReading } from '../types';

/** What a membership change found: droplets the LB already had as asked (read first; a tag call reads nothing). */
export interface MembershipChange {
  alreadyAsAsked: number[];
}

export interface DigitalOceanPort {
  listDroplets(selector: DropletSelector, addressType: 'public' | 'private'): Promise<DropletTarget[]>;
  getLoadBalancer(ref: LoadBalancerRef): Promise<LoadBalancerInfo>;
  /** Put droplets behind the LB: by IDs, or by the LB's tag for tag-targeted load balancers. */
  attachDroplets(lb: LoadBalancerInfo, dropletIds: number[]): Promise<MembershipChange>;
  detachDroplets(lb: LoadBalancerInfo, dropletIds: number[]): Promise<MembershipChange>;
  /** The token's quota as last answered (a fake without headers: undefined). */
  quota?(): QuotaReading | undefined;
}
