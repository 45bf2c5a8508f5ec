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

export interface ApiAccess {
  apiUrl?: string;
  secrets: SecretRefs;
}

export interface ActivityDeps {
  digitalOcean(access: ApiAccess): DigitalOceanPort;
  remote(secrets: SecretRefs): RemotePort;
  /** Reads a secret environment variable of the worker; undefined when unset. */
  secret(name: string): string | undefined;
  fetch: typeof fetch;
}

export function missingSecret(what: string, fix: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `${what} is not set in the worker's environment: ${fix}`, type: 'MissingSecret', nonRetryable: true });
}

export function readSshKey(secrets: SecretRefs, env: NodeJS.ProcessEnv): string {
  const file = env[secrets.sshKeyEnv] || secrets.sshKeyPath;
  if (!file) throw missingSecret('the SSH private key', `set ${secrets.sshKeyEnv} to the key's path, or ssh.privateKeyPath in the config`);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw ApplicationFailure.create({ message: `cannot read the SSH private key ${file}: ${(err as Error).message}`, type: 'MissingSecret', nonRetryable: true });
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
    throw ApplicationFailure.create({ message: `cannot read ${name}_FILE (${file}): ${(err as Error).message}`, type: 'MissingSecret', nonRetryable: true });
  }
}

export function realDependencies(env: NodeJS.ProcessEnv = process.env): ActivityDeps {
  return {
    digitalOcean(access) {
      const token = readSecret(env, access.secrets.tokenEnv);
      if (!token) throw missingSecret(`the DigitalOcean API token (${access.secrets.tokenEnv})`, `export ${access.secrets.tokenEnv}=<personal access token> (or ${access.secrets.tokenEnv}_FILE=<file holding it>) before starting the worker`);
      return createDigitalOcean({ token, apiUrl: env.DIGITALOCEAN_API_URL || access.apiUrl });
    },
    remote: (secrets) => createSshRemote(readSshKey(secrets, env)),
    secret: (name) => readSecret(env, name),
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
