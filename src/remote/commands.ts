// Pure builders for every shell command sent to a droplet. Capistrano-style layout:
//   <remoteDir>/releases/<releaseId>/   one directory per upload, never edited after it is complete
//   <remoteDir>/current -> releases/<releaseId>   switched atomically (rename over the old link)
// Nothing here executes anything; src/remote/ssh.ts runs the strings.
import type { PreviousRelease, RemoteSpec } from '../types';
import { releaseDir } from '../rollout-plan';

/** Single-quote for POSIX sh. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export const RELEASE_FILE = 'RELEASE';
/** The compose files read the image tag from this variable: image: org/app:${APP_RELEASE}. */
export const RELEASE_VARIABLE = 'APP_RELEASE';
const PARTIAL_PREFIX = '.partial-';

export function releasesDir(remote: Pick<RemoteSpec, 'remoteDir'>): string {
  return `${remote.remoteDir}/releases`;
}
export { releaseDir };
export function partialDir(remote: Pick<RemoteSpec, 'remoteDir'>, releaseId: string): string {
  return `${releasesDir(remote)}/${PARTIAL_PREFIX}${releaseId}`;
}

/** Prints "dir=<link target>" and "release=<tag>" when a current release exists, nothing otherwise. */
export function readCurrentRelease(remote: Pick<RemoteSpec, 'remoteDir'>): string {
  const current = shq(`${remote.remoteDir}/current`);
  return `if [ -L ${current} ]; then printf 'dir=%s\\n' "$(readlink ${current})"; ` +
    `printf 'release=%s\\n' "$(cat ${current}/${RELEASE_FILE} 2>/dev/null)"; fi`;
}

export function parseCurrentRelease(remote: Pick<RemoteSpec, 'remoteDir'>, stdout: string): PreviousRelease | null {
  const dir = /^dir=(.+)$/m.exec(stdout)?.[1]?.trim();
  const release = /^release=(.*)$/m.exec(stdout)?.[1]?.trim();
  if (!dir) return null;
  const absolute = dir.startsWith('/') ? dir : `${remote.remoteDir}/${dir}`;
  return { releaseDir: absolute, ...(release ? { release } : {}) };
}

/** A fresh, empty staging directory (and its subdirectories) for an upload. */
export function prepareUpload(remote: Pick<RemoteSpec, 'remoteDir'>, releaseId: string, subdirs: string[]): string {
  const partial = partialDir(remote, releaseId);
  const dirs = [partial, ...subdirs.map((d) => `${partial}/${d}`)].map(shq).join(' ');
  return `set -e; rm -rf ${shq(partial)}; mkdir -p ${dirs}`;
}

/** Seal the staged upload: secrets 0600, the release marker, then one rename makes it visible. */
export function finalizeUpload(remote: Pick<RemoteSpec, 'remoteDir'>, releaseId: string, release: string, secretFiles: string[]): string {
  const partial = partialDir(remote, releaseId);
  const done = releaseDir(remote, releaseId);
  const chmod = secretFiles.length ? `chmod 600 ${secretFiles.map((f) => shq(`${partial}/${f}`)).join(' ')}; ` : '';
  return `set -e; ${chmod}printf '%s\\n' ${shq(release)} > ${shq(`${partial}/${RELEASE_FILE}`)}; ` +
    `sync; rm -rf ${shq(done)}; mv ${shq(partial)} ${shq(done)}`;
}

/** Point `current` at a release directory in one rename, so readers never see a missing link. */
export function activateRelease(remote: Pick<RemoteSpec, 'remoteDir'>, targetDir: string): string {
  const root = remote.remoteDir;
  const relative = targetDir.startsWith(`${root}/`) ? targetDir.slice(root.length + 1) : targetDir;
  return `set -e; test -f ${shq(`${targetDir}/${RELEASE_FILE}`)}; cd ${shq(root)}; ` +
    `ln -sfn ${shq(relative)} .current-next; mv -T .current-next current`;
}

/** What a droplet without any Compose is told (preflight refuses it with this, naming both commands). */
export const COMPOSE_MISSING = "neither 'docker compose' (Compose v2) nor 'docker-compose' (Compose v1) works on this droplet; install one of them";

/**
 * Defines `dc` as the Compose this droplet has: `docker compose` (v2) first, else `docker-compose` (v1, what
 * older droplets such as the seed's run). Chosen on the droplet at run time, so each droplet uses its own.
 */
export function selectCompose(): string {
  return 'if docker compose version >/dev/null 2>&1; then dc() { docker compose "$@"; }; ' +
    'elif docker-compose version >/dev/null 2>&1; then dc() { docker-compose "$@"; }; ' +
    `else echo ${shq(COMPOSE_MISSING)} >&2; exit 127; fi`;
}

/** Prints "compose=v2 <version>" or "compose=v1 <version>"; exits 127 with COMPOSE_MISSING when neither works. */
export function detectCompose(): string {
  return 'if v="$(docker compose version --short 2>/dev/null)"; then echo "compose=v2 $v"; ' +
    'elif v="$(docker-compose version --short 2>/dev/null)"; then echo "compose=v1 $v"; ' +
    `else echo ${shq(COMPOSE_MISSING)} >&2; exit 127; fi`;
}

function compose(remote: Pick<RemoteSpec, 'composeFiles' | 'composeProject'>, args: string): string {
  const files = remote.composeFiles.map((f) => `-f ${shq(f)}`).join(' ');
  return `${selectCompose()}; dc -p ${shq(remote.composeProject)} ${files} ${args}`;
}

/** Registry login reads the password from stdin; it never appears in argv or in logs. */
export function registryLogin(registry: NonNullable<RemoteSpec['registry']>): string {
  return `docker login ${shq(registry.server)} -u ${shq(registry.username)} --password-stdin`;
}

const REQUIRE_FLOCK = "command -v flock >/dev/null || { echo 'flock (util-linux) is missing on this droplet: apt-get install util-linux' >&2; exit 127; }";

/** Held while containers start: an `up` that an abort left running on the droplet never races the restore's `up`. */
export const START_LOCK = '.start.lock';

/**
 * Enter a release directory (default `current`) with its image tag exported, as every compose command needs.
 * `cd -P` resolves the link: Compose v2 resolves relative bind mounts against the logical path, which for
 * `current/…` is the same string in every release, so a service whose mounted file changed was kept on the old
 * file; from the physical release path its definition changes and Compose recreates it (as v1 always did).
 */
export function enterRelease(remote: Pick<RemoteSpec, 'remoteDir'>, dir = `${remote.remoteDir}/current`): string {
  return `cd -P ${shq(dir)}; export ${RELEASE_VARIABLE}="$(cat ${RELEASE_FILE})"`;
}

/** One compose subcommand run inside a release directory (default `current`). */
export function composeIn(remote: Pick<RemoteSpec, 'remoteDir' | 'composeFiles' | 'composeProject'>, args: string, dir?: string): string {
  return `set -e; ${enterRelease(remote, dir)}; ${compose(remote, args)}`;
}

/** The release's compose commands, in order, run inside `current`. */
export function startRelease(remote: Pick<RemoteSpec, 'remoteDir' | 'composeFiles' | 'composeProject'>): string[] {
  const enter = enterRelease(remote);
  // flock on fd 9, released when the shell exits. `cd current` comes after the lock: whichever `up` runs last
  // starts what `current` points to then, so a late abandoned `up` cannot undo a restore.
  const lock = `${REQUIRE_FLOCK}; exec 9>>${shq(`${remote.remoteDir}/${START_LOCK}`)}; flock 9`;
  return [
    `set -e; ${enter}; ${compose(remote, 'pull')}`,
    `set -e; ${lock}; ${enter}; ${compose(remote, 'up -d --remove-orphans')}`,
  ];
}

/**
 * Switch `current` to a release directory and start it. A deploy (`recordPrevious`) also points `previous` at
 * what ran before, which `deploy rollback` returns to; restores and rollbacks leave `previous` alone.
 */
export function switchAndStart(remote: Pick<RemoteSpec, 'remoteDir' | 'composeFiles' | 'composeProject'>, targetDir: string, recordPrevious = false): string {
  const up = startRelease(remote)[1];
  const root = shq(remote.remoteDir);
  const remember = recordPrevious
    ? `(cd ${root}; old="$(readlink current 2>/dev/null || true)"; new=${shq(relativeTo(remote, targetDir))}; ` +
      `if [ -n "$old" ] && [ "$old" != "$new" ]; then ln -sfn "$old" .previous-next; mv -T .previous-next previous; fi); `
    : '';
  return `set -e; ${remember}(${activateRelease(remote, targetDir)}); ${up}`; // the subshells keep the cwd for the relative cd
}

function relativeTo(remote: Pick<RemoteSpec, 'remoteDir'>, dir: string): string {
  return dir.startsWith(`${remote.remoteDir}/`) ? dir.slice(remote.remoteDir.length + 1) : dir;
}

/** What `deploy rollback` chooses from: "before=<dir>" (what ran before the last deploy) and "kept=<dir> <tag>", newest first. */
export function listKeptReleases(remote: Pick<RemoteSpec, 'remoteDir'>): string {
  const prev = shq(`${remote.remoteDir}/previous`);
  return `(if [ -L ${prev} ]; then printf 'before=%s\n' "$(readlink ${prev})"; fi; cd ${shq(releasesDir(remote))} 2>/dev/null && ` +
    `ls -1t | grep -v '^${PARTIAL_PREFIX.replace('.', '\\.')}' | while read -r d; do printf 'kept=%s %s\n' "$d" "$(cat "$d/${RELEASE_FILE}" 2>/dev/null)"; done; true)`;
}

export interface KeptReleases {
  /** The release directory `current` pointed to before the last deploy switched it, if recorded. */
  before?: string;
  /** Complete release directories, newest first. */
  kept: PreviousRelease[];
}

export function parseKeptReleases(remote: Pick<RemoteSpec, 'remoteDir'>, stdout: string): KeptReleases {
  const abs = (d: string) => (d.startsWith('/') ? d : `${remote.remoteDir}/${d}`);
  const before = /^before=(.+)$/m.exec(stdout)?.[1]?.trim();
  const kept = [...stdout.matchAll(/^kept=(\S+) ?(.*)$/gm)].map((m): PreviousRelease => ({ releaseDir: `${releasesDir(remote)}/${m[1]}`, ...(m[2].trim() ? { release: m[2].trim() } : {}) }));
  return { before: before ? abs(before) : undefined, kept };
}

/** Pull a staged release's images from inside its own directory (not `current`): nothing running changes. */
export function pullStaged(remote: Pick<RemoteSpec, 'remoteDir' | 'composeFiles' | 'composeProject'>, dir: string): string {
  return composeIn(remote, 'pull', dir);
}

/**
 * The release command: a one-off container of `service` from the staged release (its files, its image), with
 * no TTY. `command` is the operator's own shell words, as in a Procfile. Output interleaves stdout and stderr.
 */
export function releaseCommand(remote: Pick<RemoteSpec, 'remoteDir' | 'composeFiles' | 'composeProject'>, dir: string, service: string, command: string): string {
  // Serialised on the droplet: one at a time (a lock), and once per release directory (a marker that ends with
  // its exit code), so a retry or a second rollout never starts it again while the first may still run.
  const refuse = (code: number, why: string) => `{ printf '${RELEASE_COMMAND_REFUSAL}%s\\n' "${why}" >&2; exit ${code}; }`;
  return `set -e; ${REQUIRE_FLOCK}; exec 8>>${shq(`${remote.remoteDir}/${RELEASE_COMMAND_LOCK}`)}; ` +
    `flock -n 8 || ${refuse(RELEASE_COMMAND_BUSY, 'another release command is running on this droplet')}; ` +
    `${enterRelease(remote, dir)}; ` +
    `if [ -e ${RELEASE_COMMAND_MARKER} ]; then ${refuse(RELEASE_COMMAND_DONE, `it already started for this release ($(tr '\\n' ' ' < ${RELEASE_COMMAND_MARKER}))`)}; fi; ` +
    `printf 'started %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > ${RELEASE_COMMAND_MARKER}; ` +
    `${selectCompose()}; set +e; dc -p ${shq(remote.composeProject)} ${remote.composeFiles.map((f) => `-f ${shq(f)}`).join(' ')} run --rm -T ${shq(service)} ${command} 2>&1; ` +
    `code=$?; printf 'exit %s\\n' "$code" >> ${RELEASE_COMMAND_MARKER}; exit $code`;
}

export const RELEASE_COMMAND_LOCK = '.release-command.lock';
export const RELEASE_COMMAND_MARKER = '.release-command';
/** Our own refusals start with this, so an exit code the command itself chose is never mistaken for one. */
export const RELEASE_COMMAND_REFUSAL = 'dodeploy: release command refused: ';
export const RELEASE_COMMAND_BUSY = 75;
export const RELEASE_COMMAND_DONE = 76;

/**
 * Delete abandoned partial uploads and old releases, keeping the newest `keep` and whatever `current` and
 * `previous` point to (`previous` is where `deploy rollback` goes).
 */
export function pruneReleases(remote: Pick<RemoteSpec, 'remoteDir' | 'keepReleases'>): string {
  const dir = shq(releasesDir(remote));
  return `cd ${dir} || exit 0; rm -rf ./${PARTIAL_PREFIX}*; cur="$(basename "$(readlink ../current)")"; prev="$(basename "$(readlink ../previous)")"; ` +
    `ls -1t | grep -v '^${PARTIAL_PREFIX.replace('.', '\\.')}' | tail -n +${remote.keepReleases + 1} | ` +
    `while read -r d; do [ "$d" = "$cur" ] || [ "$d" = "$prev" ] || rm -rf -- "$d"; done`;
}

/** Dangling images only. Never a system prune that takes volumes with it: volumes hold data. */
export function pruneDanglingImages(): string {
  return 'docker image prune -f';
}

/**
 * One line per container of the project: its compose service, then `docker inspect`'s State as JSON (status,
 * restart count, and the healthcheck's status and log when the service defines one).
 */
export function composeHealth(remote: Pick<RemoteSpec, 'remoteDir' | 'composeFiles' | 'composeProject'>): string {
  const enter = enterRelease(remote);
  return `set -e; ${enter}; ids="$(${compose(remote, 'ps -a -q')})"; [ -n "$ids" ] || { echo 'no containers are running for this release' >&2; exit 3; }; ` +
    `docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{json .State}} {{.RestartCount}}' $ids`;
}

export function healthCommand(remote: Pick<RemoteSpec, 'remoteDir'>, command: string): string {
  return `cd ${shq(`${remote.remoteDir}/current`)} && ${command}`;
}
