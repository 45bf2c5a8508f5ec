// Keyword search attributes that make rollouts findable in the Web UI: DeployEnv="production".
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';

export const DeployApp = defineSearchAttributeKey('DeployApp', SearchAttributeType.KEYWORD);
export const DeployEnv = defineSearchAttributeKey('DeployEnv', SearchAttributeType.KEYWORD);
export const DeployRelease = defineSearchAttributeKey('DeployRelease', SearchAttributeType.KEYWORD);

/** The names a Temporal namespace must have registered (dev server flags, compose admin-tools). */
export const SEARCH_ATTRIBUTE_NAMES = ['DeployApp', 'DeployEnv', 'DeployRelease'] as const;

export function deploySearchAttributes(app: string, env: string, release: string): SearchAttributePair[] {
  return [
    { key: DeployApp, value: app },
    { key: DeployEnv, value: env },
    { key: DeployRelease, value: release },
  ];
}
