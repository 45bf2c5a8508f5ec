// Rules the workflow code keeps, checked as tests: every patch ID comes from patches.ts (one list to read and to
// retire from), and nothing the workflows load at run time touches a Node module (the sandbox forbids it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { PATCHES } from '../../src/workflows/patches';
import { WORKFLOW_TYPES } from '../../src/workflows/messages';
import * as workflowExports from '../../src/workflows';
import { activityInternalsImported, functionLengths, importCircles, importsRunningUp } from '../../scripts/code-figures';

const root = path.resolve(__dirname, '..', '..');
const workflows = path.join(root, 'src', 'workflows');
const sources = readdirSync(workflows, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => [f, readFileSync(path.join(workflows, f), 'utf8')] as const);

test('every patched() call names its patch from patches.ts, and every patch listed there is used', () => {
  const literal = sources.filter(([, text]) => /patched\(\s*['"`]/.test(text)).map(([f]) => f);
  assert.deepEqual(literal, [], 'patch IDs as string literals');
  const all = sources.map(([, text]) => text).join('\n');
  const unused = Object.keys(PATCHES).filter((key) => !all.includes(`PATCHES.${key}`));
  assert.deepEqual(unused, [], 'patches listed but never checked');
  assert.equal(new Set(Object.values(PATCHES)).size, Object.values(PATCHES).length, 'IDs are unique');
});

test('nothing the workflows load at run time imports a Node module', () => {
  const script = "require('./src/workflows'); console.log(JSON.stringify(Object.keys(require.cache)))";
  const loaded: string[] = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' }));
  const ours = loaded.filter((f) => f.startsWith(path.join(root, 'src')));
  assert.ok(ours.some((f) => f.endsWith(path.join('workflows', 'rollout', 'workflow.ts'))), 'the module graph was read');
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const offenders = ours.flatMap((file) => {
    // Type-only imports vanish at run time; value imports of a builtin do not.
    const imports = [...readFileSync(file, 'utf8').matchAll(/^import (?!type )[^;]*? from '([^']+)'/gms)].map((m) => m[1]);
    return imports.filter((m) => builtins.has(m)).map((m) => `${path.relative(root, file)} imports ${m}`);
  });
  assert.deepEqual(offenders, []);
  const forbidden = ours.filter((f) => /\/src\/(activities|remote|digitalocean|cli)\//.test(f)).map((f) => path.relative(root, f));
  assert.deepEqual(forbidden, [], 'workflow code loads no activity, SSH, DigitalOcean or CLI module');
});

test('the workflow type names clients start are the names the worker registers', () => {
  const registered: Record<string, unknown> = { ...workflowExports };
  for (const name of Object.values(WORKFLOW_TYPES)) assert.equal(typeof registered[name], 'function', `${name} is exported by src/workflows`);
});

test('the code keeps its shape: no import circle, no live function over 100 lines, no shared module reaching up', () => {
  const src = path.join(root, 'src');
  assert.deepEqual(importCircles(src), [], 'import circles under src/');
  // The frozen legacy rollout is exempt: it is not edited, only deleted (its header says when).
  const long = functionLengths(src).filter((f) => f.lines > 100 && !f.file.includes('/legacy/')).map((f) => `${f.file} ${f.name}: ${f.lines} lines`);
  assert.deepEqual(long, []);
  assert.deepEqual(importsRunningUp(src), [], 'modules at src/\'s root import from workflows/, activities/ or cli/');
  assert.deepEqual(activityInternalsImported(src), [], 'wire types live in rollout-status.ts; workflows and the CLI need only DeployActivities');
});
