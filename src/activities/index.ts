// createActivities(deps): every activity the workflows call, built over ports so tests can swap them.
import type { ActivityDeps } from './deps';
import { fleetActivities } from './fleet';
import { healthActivities } from './health';
import { loadBalancerActivities } from './load-balancer';
import { remoteActivities } from './remote';
import { stageActivities } from './stage';
import { notifyActivities } from './notify';
import { releaseActivities } from './release';
import { observeActivities } from './observe';

export function createActivities(deps: ActivityDeps) {
  const { probeOnce: _probeOnce, ...health } = healthActivities(deps);
  return {
    ...fleetActivities(deps),
    ...loadBalancerActivities(deps),
    ...remoteActivities(deps),
    ...stageActivities(deps),
    ...notifyActivities(deps),
    ...releaseActivities(deps),
    ...observeActivities(),
    ...health,
  };
}

export type DeployActivities = ReturnType<typeof createActivities>;
export { realDependencies, type ActivityDeps } from './deps';
