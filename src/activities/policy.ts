// The worker's own policy over where its secrets may go. Anyone who can start a workflow on the task queue writes
// the workflow input, so the input only *names* things; this policy, read from the worker's environment, decides
// which API the token is sent to, which variables an input may name, and which files may leave this machine.
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_API_URL } from '../digitalocean/dots-adapter';
import type { SecretRefs, UploadFile } from '../types';

export interface WorkerPolicy {
  /** The only DigitalOcean API the token is sent to: DIGITALOCEAN_API_URL, else the official endpoint. */
  apiUrl: string;
  /** Variables that may hold the DigitalOcean token (DEPLOYER_TOKEN_VARS); never usable for anything else. */
  tokenVars: string[];
  /** Variables an input may name for the SSH key path, registry password and webhook URL (DEPLOYER_SECRET_VARS). */
  secretVars: string[];
  /** Registry servers the registry password may be sent to (DEPLOYER_REGISTRIES); empty: none. */
  registries: string[];
  /** Directories files are uploaded from, links resolved (DEPLOYER_FILES_ROOT, ":"-separated; default: the worker's cwd). */
  filesRoots: string[];
}

export const POLICY_DEFAULTS = { tokenVars: 'DIGITALOCEAN_TOKEN', secretVars: 'DEPLOY_*,REGISTRY_*' } as const;

const list = (value: string | undefined, fallback: string): string[] =>
  (value ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);

export function workerPolicy(env: NodeJS.ProcessEnv, cwd = process.cwd()): WorkerPolicy {
  const roots = (env.DEPLOYER_FILES_ROOT || cwd).split(':').filter(Boolean).map((r) => {
    try {
      return realpathSync(path.resolve(cwd, r));
    } catch {
      return path.resolve(cwd, r); // a root that does not exist allows nothing under it either
    }
  });
  return {
    apiUrl: normaliseUrl(env.DIGITALOCEAN_API_URL || DEFAULT_API_URL),
    tokenVars: list(env.DEPLOYER_TOKEN_VARS, POLICY_DEFAULTS.tokenVars),
    secretVars: list(env.DEPLOYER_SECRET_VARS, POLICY_DEFAULTS.secretVars),
    registries: list(env.DEPLOYER_REGISTRIES, ''),
    filesRoots: roots,
  };
}

function normaliseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

const matches = (patterns: string[], name: string) =>
  patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));

export function policyRefusal(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `the worker's policy refuses this input: ${message}`, type: 'PolicyRefused', nonRetryable: true });
}

/** The API the token goes to: the worker's, whatever the input says; an input naming another one is refused. */
export function apiUrlProblem(policy: WorkerPolicy, requested: string | undefined): string | undefined {
  if (!requested || normaliseUrl(requested) === policy.apiUrl) return undefined;
  return `digitalocean.apiUrl ${requested} is not this worker's DigitalOcean API (${policy.apiUrl}); the worker sends its token only there. ` +
    'Remove digitalocean.apiUrl from the config, or set DIGITALOCEAN_API_URL in the worker\'s environment';
}

export type SecretRole = 'token' | 'SSH key' | 'registry password' | 'webhook URL';

export function secretVarProblem(policy: WorkerPolicy, name: string, role: SecretRole): string | undefined {
  if (role === 'token') {
    return matches(policy.tokenVars, name) ? undefined
      : `${name} is not a token variable of this worker (DEPLOYER_TOKEN_VARS allows ${policy.tokenVars.join(', ')})`;
  }
  if (matches(policy.tokenVars, name)) return `${name} holds the DigitalOcean token and cannot serve as the ${role}`;
  return matches(policy.secretVars, name) ? undefined
    : `${name} may not be named as the ${role} (DEPLOYER_SECRET_VARS allows ${policy.secretVars.join(', ')})`;
}

export function registryProblem(policy: WorkerPolicy, server: string): string | undefined {
  if (policy.registries.includes(server)) return undefined;
  return `the registry password is sent only to the registries in DEPLOYER_REGISTRIES (${policy.registries.join(', ') || 'none set'}), not ${server}; ` +
    `set DEPLOYER_REGISTRIES=${server} in the worker's environment if that registry is yours`;
}

/** A file to upload, its links resolved, must lie under one of the worker's roots. */
export function uploadProblem(policy: WorkerPolicy, file: UploadFile): string | undefined {
  let real: string;
  try {
    real = realpathSync(file.from);
  } catch {
    return undefined; // a missing file is reported by the digest, with its path
  }
  if (policy.filesRoots.some((root) => real === root || real.startsWith(`${root}${path.sep}`))) return undefined;
  return `${file.from} is outside the directories files are uploaded from (DEPLOYER_FILES_ROOT: ${policy.filesRoots.join(':')})`;
}

export interface PolicyInput {
  apiUrl?: string;
  secrets: SecretRefs;
  files?: UploadFile[];
  registry?: { server: string };
  webhookUrlEnv?: string;
}

/** Every way an input oversteps the policy, for preflight to list at once. */
export function policyProblems(policy: WorkerPolicy, input: PolicyInput): string[] {
  const { secrets } = input;
  const problems = [
    apiUrlProblem(policy, input.apiUrl),
    secretVarProblem(policy, secrets.tokenEnv, 'token'),
    secretVarProblem(policy, secrets.sshKeyEnv, 'SSH key'),
    input.registry ? secretVarProblem(policy, secrets.registryPasswordEnv ?? '', 'registry password') : undefined,
    input.registry ? registryProblem(policy, input.registry.server) : undefined,
    input.webhookUrlEnv ? secretVarProblem(policy, input.webhookUrlEnv, 'webhook URL') : undefined,
    ...(input.files ?? []).map((f) => uploadProblem(policy, f)),
  ];
  return problems.filter((p): p is string => Boolean(p));
}
