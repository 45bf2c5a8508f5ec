// Where the Temporal binaries are: PATH first, else the project venv that scripts/setup.sh fills. Never downloaded.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');

export function findBinary(name: 'temporal' | 'temporal-test-server'): string {
  const venv = path.join(root, '.tools', 'venv', 'bin', name);
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    if (existsSync(venv)) return venv;
  }
  throw new Error(`${name} not found on PATH or in .tools/venv; run: npm run setup`);
}
