// The worker's workflow bundle entry point.
export { rolloutWorkflow } from './rollout';
export { deployDropletWorkflow } from './deploy-droplet';
export { previewRolloutWorkflow } from './preview';
