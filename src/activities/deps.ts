// What activities are built from. The worker hands in real clients; tests hand in fakes.
// Secrets are looked up here, from the worker's environment and files, never from arguments.
import { readFileSync } from 'node:fs';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DigitalOceanPort } from '../digitalocean/port';
import { createDigitalOcean } from '../digitalocean/dots-adapter';
import { DigitalOceanError } from '../digitalocean/errors';
import type { RemotePort } from '../remote/port';
import { HostKeyError, SshConnectError } from '../remote/port';
import { createSshRemote } from '../remote/ssh';
import type { SecretRefs } from '../types';
import { apiUrlProblem, policyRefusal, secretVarProblem, workerPolicy, type SecretRole, type WorkerPolicy } from './policy';

export interface ApiAccess {
  apiUrl?: string;
  secrets: SecretRefs;
}

export interface ActivityDeps {
  digitalOcean(access: ApiAccess): DigitalOceanPort;
  remote(secrets: SecretRefs): RemotePort;
  /** Reads a secret environment variable of the worker, if its policy lets the input name it; undefined when unset. */
  secret(name: string, role: SecretRole): string | undefined;
  /** The worker's own rules for where its secrets and files may go (policy.ts). */
  policy: WorkerPolicy;
  fetch: typeof fetch;
}

export function missingSecret(what: string, fix: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `${what} is not set in the worker's environment: ${fix}`, type: 'MissingSecret', nonRetryable: true });
}

/** A private key pasted where a path belongs (the CI convention SSH_PRIVATE_KEY=<key>). */
const looksLikeKey = (value: string) => /PRIVATE KEY|\n/.test(value) || value.length > 1024;

/** Why a file could not be read, without its path when the path came from a variable (it may be anything). */
const reason = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'unreadable';

/** The SSH key: from the file the variable names, else ssh.privateKeyPath. Messages name the variable, never its value. */
export function readSshKey(secrets: SecretRefs, env: NodeJS.ProcessEnv): string {
  const fromEnv = env[secrets.sshKeyEnv];
  if (fromEnv && looksLikeKey(fromEnv)) {
    throw ApplicationFailure.create({
      message: `${secrets.sshKeyEnv} holds a key, not a path: put the key in a file and set ${secrets.sshKeyEnv} to its path (or use ssh.privateKeyPath)`,
      type: 'MissingSecret', nonRetryable: true,
    });
  }
  const file = fromEnv || secrets.sshKeyPath;
  if (!file) throw missingSecret('the SSH private key', `set ${secrets.sshKeyEnv} to the key's path, or ssh.privateKeyPath in the config`);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const which = fromEnv ? `the file ${secrets.sshKeyEnv} names` : `ssh.privateKeyPath ${file}`;
    throw ApplicationFailure.create({ message: `cannot read the SSH private key (${which}): ${reason(err)}`, type: 'MissingSecret', nonRetryable: true });
  }
}

/**
 * A secret from the worker's environment: `NAME` itself, or the file named by `NAME_FILE` (the Docker
 * secrets convention: /run/secrets/<name>), trailing newline removed. Undefined when neither is set.
 */
export function readSecret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  if (env[name]) return env[name];
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '') || undefined;
  } catch (err) {
    throw ApplicationFailure.create({ message: `cannot read the file ${name}_FILE names: ${reason(err)}`, type: 'MissingSecret', nonRetryable: true });
  }
}

function enforce(problem: string | undefined): void {
  if (problem) throw policyRefusal(problem);
}

export function realDependencies(env: NodeJS.ProcessEnv = process.env): ActivityDeps {
  const policy = workerPolicy(env);
  return {
    policy,
    digitalOcean(access) {
      const tokenEnv = access.secrets.tokenEnv;
      enforce(apiUrlProblem(policy, access.apiUrl));
      enforce(secretVarProblem(policy, tokenEnv, 'token'));
      const token = readSecret(env, tokenEnv);
      if (!token) throw missingSecret(`the DigitalOcean API token (${tokenEnv})`, `export ${tokenEnv}=<personal access token> (or ${tokenEnv}_FILE=<file holding it>) before starting the worker`);
      return createDigitalOcean({ token, tokenEnv, apiUrl: policy.apiUrl });
    },
    remote(secrets) {
      enforce(secretVarProblem(policy, secrets.sshKeyEnv, 'SSH key'));
      return createSshRemote(readSshKey(secrets, env));
    },
    secret(name, role) {
      enforce(secretVarProblem(policy, name, role));
      return readSecret(env, name);
    },
    fetch: globalThis.fetch,
  };
}

/** Turn port errors into Temporal failures that carry the retry decision. */
export function toFailure(err: unknown): unknown {
  if (err instanceof DigitalOceanError) {
    return ApplicationFailure.create({
      message: err.message,
      type: `DigitalOcean.${err.kind}`,
      nonRetryable: !err.retryable,
      nextRetryDelay: err.retryAfterMs,
    });
  }
  if (err instanceof HostKeyError) return ApplicationFailure.create({ message: err.message, type: 'HostKeyRejected', nonRetryable: true });
  if (err instanceof SshConnectError) return ApplicationFailure.create({ message: err.message, type: 'SshUnreachable' });
  return err;
}

/** Run `fn`, mapping failures; heartbeats meanwhile so a dead worker is noticed and cancellation arrives. */
export async function withHeartbeat<T>(fn: () => Promise<T>, details?: () => unknown): Promise<T> {
  const ctx = currentContext();
  const timer = ctx ? setInterval(() => ctx.heartbeat(details?.()), 2_000) : undefined;
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  } finally {
    if (timer) clearInterval(timer);
  }
}

export function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
