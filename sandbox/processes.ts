// Child processes of the sandbox (sshd, dockerd, the registry, HAProxy): one way to tell they ended and to stop them.
import type { ChildProcess } from 'node:child_process';

/** The child has ended, by an exit code or by a signal (a child killed by a signal keeps exitCode null). */
export function ended(proc: ChildProcess): boolean {
  return proc.exitCode !== null || proc.signalCode !== null;
}

/** SIGTERM, then SIGKILL after `graceMs`. Returns at once for a child that already ended: safe to call twice. */
export async function stopProcess(proc: ChildProcess, graceMs = 20_000): Promise<void> {
  if (ended(proc)) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  const killer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(killer);
}
