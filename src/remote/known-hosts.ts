// Host key trust: a pinned SHA256 fingerprint, or an entry in an OpenSSH known_hosts file.
import { createHash, createHmac } from 'node:crypto';

export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The host pattern OpenSSH writes: "host" on port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hostMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  return pattern.split(',').some((p) => p === name);
}

export type KnownHostsVerdict = 'trusted' | 'revoked' | 'mismatch' | 'unknown';

/** Looks the key up in known_hosts text; a listed host with another key is a mismatch (possible MITM). */
export function checkKnownHosts(text: string, host: string, port: number, key: Buffer): KnownHostsVerdict {
  const name = knownHostsName(host, port);
  const blob = key.toString('base64');
  const keyType = key.subarray(4, 4 + key.readUInt32BE(0)).toString();
  let listed = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    if (marker === '@cert-authority') continue;
    const [hosts, type, keyData] = fields;
    if (!hosts || !keyData || !hostMatches(hosts, name)) continue;
    if (marker === '@revoked') {
      if (keyData === blob) return 'revoked';
      continue;
    }
    if (keyData === blob) return 'trusted';
    if (type === keyType) listed = true; // only a different key *of the same type* is a mismatch
  }
  return listed ? 'mismatch' : 'unknown';
}
