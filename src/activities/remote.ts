// Droplet-side steps over SSH: record what runs, upload a release, switch to it, start it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { currentContext, missingSecret, withHeartbeat } from './deps';
import * as commands from '../remote/commands';
import { policyRefusal, registryProblem, uploadProblem } from './policy';
import type { RemoteSession } from '../remote/port';
import type { DropletTarget, PreviousRelease, RemoteSpec, SecretRefs, UploadFile } from '../types';

export interface RemoteInput {
  droplet: DropletTarget;
  remote: RemoteSpec;
  secrets: SecretRefs;
}

/** sha256 over the files to upload, so every droplet gets exactly what preflight saw. */
export function filesDigest(files: UploadFile[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.to.localeCompare(b.to))) {
    hash.update(`${f.to}\0${f.secret ? 1 : 0}\0`);
    hash.update(readFileSync(f.from));
    hash.update('\0');
  }
  return hash.digest('hex');
}

export async function withSession<T>(deps: ActivityDeps, input: RemoteInput, fn: (s: RemoteSession) => Promise<T>): Promise<T> {
  return withHeartbeat(async () => {
    const session = await deps.remote(input.secrets).connect(input.droplet, input.remote);
    // Closing the connection is how a cancelled activity stops a running remote command.
    const signal = currentContext()?.cancellationSignal;
    const onCancel = () => session.close();
    signal?.addEventListener('abort', onCancel);
    try {
      return await fn(session);
    } finally {
      signal?.removeEventListener('abort', onCancel);
      session.close();
    }
  });
}

export async function run(session: RemoteSession, droplet: DropletTarget, what: string, command: string, stdin?: string): Promise<string> {
  const result = await session.exec(command, { stdin });
  if (result.code !== 0) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ');
    throw ApplicationFailure.create({ message: `${what} on ${droplet.name} failed (exit ${result.code}): ${tail}`, type: 'RemoteCommandFailed' });
  }
  return result.stdout;
}

export interface ReleaseFiles {
  release: string;
  releaseId: string;
  filesDigest: string;
}

/** Before any file leaves the worker: each must be under the worker's roots, and as preflight saw it. */
export function checkFilesDigest(deps: ActivityDeps, input: { remote: RemoteSpec } & ReleaseFiles): void {
  const outside = input.remote.files.map((f) => uploadProblem(deps.policy, f)).filter(Boolean);
  if (outside.length) throw policyRefusal(outside.join('; '));
  if (filesDigest(input.remote.files) !== input.filesDigest) {
    throw ApplicationFailure.create({
      message: `the files to upload changed on the worker since preflight; start a new rollout to deploy them`, type: 'FilesChanged', nonRetryable: true,
    });
  }
}

/** Write every file in a fresh directory, then rename it into place: a dropped connection leaves no half release. */
export async function putRelease(s: RemoteSession, input: RemoteInput & ReleaseFiles, uploaded?: (file: string) => void): Promise<string> {
  const { droplet, remote } = input;
  const subdirs = [...new Set(remote.files.map((f) => path.posix.dirname(f.to)).filter((d) => d !== '.'))];
  await run(s, droplet, 'prepare release directory', commands.prepareUpload(remote, input.releaseId, subdirs));
  const partial = commands.partialDir(remote, input.releaseId);
  for (const file of remote.files) {
    await s.putFile(file.from, `${partial}/${file.to}`, file.secret ? 0o600 : 0o644);
    uploaded?.(file.to);
  }
  const secrets = remote.files.filter((f) => f.secret).map((f) => f.to);
  await run(s, droplet, 'seal release directory', commands.finalizeUpload(remote, input.releaseId, input.release, secrets));
  return commands.releaseDir(remote, input.releaseId);
}

/** The registry password from the worker's environment, or a refusal naming the variable. */
export function registryPassword(deps: ActivityDeps, remote: RemoteSpec, secrets: SecretRefs): string | undefined {
  if (!remote.registry) return undefined;
  const name = secrets.registryPasswordEnv ?? '';
  const problem = registryProblem(deps.policy, remote.registry.server);
  if (problem) throw policyRefusal(problem);
  const password = deps.secret(name, 'registry password');
  if (!password) throw missingSecret(`the registry password (${name})`, `export ${name}=<password> before starting the worker`);
  return password;
}

export function remoteActivities(deps: ActivityDeps) {
  return {
    async recordPreviousRelease(input: RemoteInput): Promise<PreviousRelease | null> {
      return withSession(deps, input, async (s) =>
        commands.parseCurrentRelease(input.remote, await run(s, input.droplet, 'read current release', commands.readCurrentRelease(input.remote))));
    },

    /** Preflight's look at a droplet, in one SSH round trip: what runs now, and which Compose it has. */
    async inspectDroplet(input: RemoteInput): Promise<{ previous: PreviousRelease | null; compose: string; releases: commands.KeptReleases }> {
      return withSession(deps, input, async (s) => {
        const out = await run(s, input.droplet, 'inspect the droplet',
          `${commands.readCurrentRelease(input.remote)}; ${commands.listKeptReleases(input.remote)}; ${commands.detectCompose()}`);
        return {
          previous: commands.parseCurrentRelease(input.remote, out), compose: /^compose=(.+)$/m.exec(out)?.[1] ?? 'unknown',
          releases: commands.parseKeptReleases(input.remote, out),
        };
      });
    },

    async uploadRelease(input: RemoteInput & ReleaseFiles): Promise<string> {
      checkFilesDigest(deps, input);
      return withSession(deps, input, (s) => putRelease(s, input, (file) => currentContext()?.heartbeat({ uploaded: file })));
    },

    async activateRelease(input: RemoteInput & { releaseDir: string }): Promise<void> {
      await withSession(deps, input, (s) => run(s, input.droplet, 'switch current release', commands.activateRelease(input.remote, input.releaseDir)));
    },

    /**
     * Registry login (password on stdin), pull, then up -d, inside `current`. A restore or rollback returns to a
     * release whose images the droplet already has: only `up -d` (which pulls just what is missing), so a
     * registry that now refuses the password cannot keep the previous release from coming back.
     */
    async startRelease(input: RemoteInput & { restore?: boolean }): Promise<void> {
      const { droplet, remote, secrets } = input;
      if (input.restore) {
        await withSession(deps, input, (s) => run(s, droplet, 'docker compose up', commands.startRelease(remote)[1]));
        return;
      }
      const password = registryPassword(deps, remote, secrets);
      await withSession(deps, input, async (s) => {
        if (remote.registry && password !== undefined) await run(s, droplet, 'registry login', commands.registryLogin(remote.registry), password);
        const [pull, up] = commands.startRelease(remote);
        await run(s, droplet, 'docker compose pull', pull);
        await run(s, droplet, 'docker compose up', up);
      });
    },

    /**
     * Point `current` at a staged release and start it, in one round trip (the images are already on the droplet,
     * so `up` pulls nothing): the whole restart while a droplet is out of the load balancer.
     */
    async switchRelease(input: RemoteInput & { releaseDir: string; recordPrevious?: boolean }): Promise<void> {
      await withSession(deps, input, (s) => run(s, input.droplet, 'switch and start', commands.switchAndStart(input.remote, input.releaseDir, input.recordPrevious)));
    },

    /** Best effort after success: old release directories and, if asked, dangling images. */
    async pruneReleases(input: RemoteInput): Promise<void> {
      await withSession(deps, input, async (s) => {
        await run(s, input.droplet, 'prune old releases', commands.pruneReleases(input.remote));
        if (input.remote.pruneImages) await run(s, input.droplet, 'prune dangling images', commands.pruneDanglingImages());
      });
    },
  };
}
