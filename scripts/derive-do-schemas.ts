// Derive JSON schemas for the DigitalOcean API endpoints the deployer uses, from DigitalOcean's published OpenAPI
// description (github.com/digitalocean/openapi), into test/schemas/digitalocean.json. The tests check the local
// API's answers and the adapter's requests against them, so the fake cannot drift from the real shapes.
//
// Run: npx tsx scripts/derive-do-schemas.ts <checkout of digitalocean/openapi> [commit]
// The spec is many YAML files with relative $refs; every ref is inlined (a cycle is cut to {}).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** The operations the adapter calls (src/digitalocean/dots-adapter.ts) and the fake answers, by operationId file. */
const OPERATIONS: { file: string; method: string; path: string }[] = [
  { file: 'droplets/droplets_list.yml', method: 'GET', path: '/v2/droplets' },
  { file: 'droplets/droplets_get.yml', method: 'GET', path: '/v2/droplets/{droplet_id}' },
  { file: 'load_balancers/loadBalancers_list.yml', method: 'GET', path: '/v2/load_balancers' },
  { file: 'load_balancers/loadBalancers_get.yml', method: 'GET', path: '/v2/load_balancers/{lb_id}' },
  { file: 'load_balancers/loadBalancers_update.yml', method: 'PUT', path: '/v2/load_balancers/{lb_id}' },
  { file: 'load_balancers/loadBalancers_add_droplets.yml', method: 'POST', path: '/v2/load_balancers/{lb_id}/droplets' },
  { file: 'load_balancers/loadBalancers_remove_droplets.yml', method: 'DELETE', path: '/v2/load_balancers/{lb_id}/droplets' },
  { file: 'tags/tags_assign_resources.yml', method: 'POST', path: '/v2/tags/{tag_id}/resources' },
  { file: 'tags/tags_unassign_resources.yml', method: 'DELETE', path: '/v2/tags/{tag_id}/resources' },
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const files = new Map<string, Json>();
function load(file: string): Json {
  if (!files.has(file)) files.set(file, parse(readFileSync(file, 'utf8')) as Json);
  return files.get(file) as Json;
}

function pointer(doc: Json, fragment: string): Json {
  let node = doc;
  for (const raw of fragment.split('/').filter(Boolean)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Record<string, Json>)?.[key];
    if (node === undefined) throw new Error(`no ${fragment}`);
  }
  return node;
}

/** Inline every $ref under `node` (refs are relative to `file`); examples and code samples are dropped. */
function inline(node: Json, file: string, seen: string[] = []): Json {
  if (Array.isArray(node)) return node.map((n) => inline(n, file, seen));
  if (!node || typeof node !== 'object') return node;
  if (typeof node.$ref === 'string') {
    const [target, fragment = ''] = node.$ref.split('#');
    const where = target ? path.resolve(path.dirname(file), target) : file;
    const key = `${where}#${fragment}`;
    if (seen.includes(key)) return {}; // a recursive schema: anything below this depth
    return inline(pointer(load(where), fragment), where, [...seen, key]);
  }
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'example' || k === 'examples' || k === 'x-codeSamples' || k === 'description') continue;
    out[k] = inline(v, file, seen);
  }
  return out;
}

function main(): void {
  const [checkout, commit = 'unknown'] = process.argv.slice(2);
  if (!checkout) throw new Error('usage: npx tsx scripts/derive-do-schemas.ts <checkout of digitalocean/openapi> [commit]');
  const resources = path.join(checkout, 'specification', 'resources');
  const operations = OPERATIONS.map(({ file, method, path: route }) => {
    const full = path.join(resources, file);
    const op = load(full) as Record<string, Json>;
    const body = op.requestBody ? inline(op.requestBody, full) as Record<string, Json> : undefined;
    const request = (body?.content as Record<string, { schema: Json }> | undefined)?.['application/json']?.schema ?? null;
    const responses: Record<string, { schema: Json; headers: string[] }> = {};
    for (const [status, response] of Object.entries(inline(op.responses, full) as Record<string, Record<string, Json>>)) {
      const schema = (response.content as Record<string, { schema: Json }> | undefined)?.['application/json']?.schema ?? null;
      responses[status] = { schema, headers: Object.keys((response.headers as Record<string, Json>) ?? {}) };
    }
    return { operationId: op.operationId, method, path: route, request, responses };
  });
  const out = path.join(__dirname, '..', 'test', 'schemas', 'digitalocean.json');
  writeFileSync(out, `${JSON.stringify({ source: 'https://github.com/digitalocean/openapi', commit, operations }, null, 1)}\n`);
  console.log(`${operations.length} operations from digitalocean/openapi@${commit} → ${path.relative(process.cwd(), out)}`);
}

main();
