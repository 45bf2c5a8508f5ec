// The worker's workflow bundle entry point.
export { rolloutWorkflow } from './rollout/workflow';
export { deployDropletWorkflow } from './droplet/workflow';
export { previewRolloutWorkflow } from './preview';
