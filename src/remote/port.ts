// What the deployer needs from a droplet's shell, nothing more: run a command, upload a file. Errors a caller
// can act on (a host key to check, an unreachable droplet) have their own types. The SSH adapter is ssh.ts.
import type { DropletTarget, RemoteSpec } from '../types';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RemoteSession {
  exec(command: string, options?: { stdin?: string }): Promise<ExecResult>;
  /** Upload one file; `mode` applies from the moment it is created. */
  putFile(localPath: string, remotePath: string, mode: number): Promise<void>;
  close(): void;
}

export interface RemotePort {
  connect(droplet: DropletTarget, remote: RemoteSpec): Promise<RemoteSession>;
}

export class HostKeyError extends Error {
  override name = 'HostKeyError';
}

export class SshConnectError extends Error {
  override name = 'SshConnectError';
}
