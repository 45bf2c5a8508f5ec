// Every way a worker is started runs it with the heap limit that keeps its memory close to what it holds
// (WORKER_HEAP_FLAG): `npm run worker` and the worker image's CMD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WORKER_HEAP_FLAG } from '../../src/deploy-worker';

const ROOT = path.resolve(__dirname, '..', '..');
const limitMB = Number(WORKER_HEAP_FLAG.split('=')[1]);

test('npm run worker starts node with the worker heap limit', () => {
  const script: string = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.worker;
  const [runner, ...args] = script.split(' ');
  assert.equal(runner, 'tsx');
  const entry = args.pop();
  assert.equal(entry, 'src/worker.ts');
  // The same runner and flags, on a one-liner that reports the heap limit node was given.
  const reported = execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [...args, '-e', 'console.log(require("v8").getHeapStatistics().heap_size_limit)'], { encoding: 'utf8' });
  const heapMB = Number(reported.trim()) / 1024 / 1024;
  assert.ok(heapMB >= limitMB && heapMB < limitMB * 1.1, `npm run worker gets a ${heapMB.toFixed(0)} MB heap limit, expected ${limitMB} MB (${WORKER_HEAP_FLAG})`);
});

test('the worker image runs node with the worker heap limit', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'deploy', 'worker', 'Dockerfile'), 'utf8');
  const cmd = dockerfile.split('\n').filter((line) => line.startsWith('CMD ')).pop();
  assert.ok(cmd, 'the Dockerfile has a CMD');
  assert.deepEqual(JSON.parse(cmd.slice(4)), ['node', WORKER_HEAP_FLAG, 'dist/worker.js']);
});
