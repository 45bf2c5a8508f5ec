// The SSH adapter of the remote port (port.ts): run commands and upload files on a droplet, host key verified first.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NodeSSH } from 'node-ssh';
import { checkKnownHosts, fingerprint, knownHostsName } from './known-hosts';
import type { DropletTarget, RemoteSpec } from '../types';
import { HostKeyError, SshConnectError, type ExecResult, type RemotePort, type RemoteSession } from './port';

export { HostKeyError, SshConnectError, type ExecResult, type RemotePort, type RemoteSession };

/** Decide whether to trust the key a droplet presented; returns a reason when not. */
export function judgeHostKey(droplet: DropletTarget, remote: RemoteSpec, key: Buffer): string | undefined {
  const seen = fingerprint(key);
  // An own property only: a droplet named `constructor` must not find Object's prototype as its pin.
  const pinned = Object.hasOwn(remote.hostKeys, droplet.name) ? remote.hostKeys[droplet.name] : undefined;
  if (pinned) {
    return pinned === seen ? undefined : `host key of ${droplet.name} (${droplet.address}) is ${seen} but ssh.hostKeys pins ${pinned}: possible man-in-the-middle; refusing to connect`;
  }
  const file = remote.knownHostsPath ?? path.join(os.homedir(), '.ssh', 'known_hosts');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // a missing file just means nothing is trusted yet
  }
  const verdict = checkKnownHosts(text, droplet.address, remote.port, key);
  if (verdict === 'trusted') return undefined;
  if (verdict === 'mismatch' || verdict === 'revoked') {
    return `host key of ${droplet.name} (${knownHostsName(droplet.address, remote.port)}) does not match ${file} (${verdict}; seen ${seen}): possible man-in-the-middle; refusing to connect`;
  }
  return `host key of ${droplet.name} (${knownHostsName(droplet.address, remote.port)}) is not trusted: seen ${seen}. ` +
    `Verify it, then pin it as ssh.hostKeys.${droplet.name}: "${seen}" or add it to ${file} (ssh-keyscan -p ${remote.port} ${droplet.address})`;
}

export function createSshRemote(privateKey: string): RemotePort {
  return {
    async connect(droplet, remote) {
      const ssh = new NodeSSH();
      let rejection: string | undefined;
      try {
        await ssh.connect({
          host: droplet.address,
          port: remote.port,
          username: remote.user,
          privateKey,
          readyTimeout: remote.connectTimeoutMs,
          keepaliveInterval: 5_000,
          hostVerifier: (key: Buffer) => {
            rejection = judgeHostKey(droplet, remote, key);
            return rejection === undefined;
          },
        });
      } catch (err) {
        ssh.dispose();
        if (rejection) throw new HostKeyError(rejection);
        throw new SshConnectError(`ssh ${remote.user}@${droplet.address}:${remote.port} (${droplet.name}): ${(err as Error).message}`);
      }
      // A dropped connection emits 'error' on the client (unhandled, it would crash the worker) and
      // can leave an SFTP transfer waiting forever: fail whatever is in flight when the link goes.
      const link: { lost?: Error } = {};
      let onLost: (err: Error) => void = () => undefined;
      const lostP = new Promise<never>((_, reject) => (onLost = reject));
      lostP.catch(() => undefined);
      const markLost = (err: Error) => {
        link.lost ??= err;
        onLost(new SshConnectError(`${droplet.name}: connection lost (${link.lost.message})`));
      };
      ssh.connection?.on('error', markLost);
      ssh.connection?.on('close', () => markLost(new Error('connection closed')));
      const guard = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
        if (link.lost) throw new SshConnectError(`${what} on ${droplet.name}: connection lost (${link.lost.message})`);
        return Promise.race([op(), lostP]);
      };
      return {
        async exec(command, options) {
          const result = await guard('command', () => ssh.execCommand(command, { stdin: options?.stdin }));
          return { code: result.code, stdout: result.stdout, stderr: result.stderr };
        },
        async putFile(localPath, remotePath, mode) {
          await guard(`upload of ${remotePath}`, () => ssh.putFile(localPath, remotePath, null, { mode }));
        },
        close() {
          ssh.dispose();
        },
      };
    },
  };
}
