// A stand-in for the docker CLI on sandbox droplets. It implements what the deployer sends
// (login --password-stdin, compose -p/-f pull|up -d|down|ps, image prune) and runs the sample app
// as a real process for the compose service, with the image tag as its release.
// Every call is logged (argv, cwd, stdin length; never stdin itself) to ~/.docker-shim/calls.log.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { parse } = require('yaml');
const here = path.dirname(fileURLToPath(import.meta.url));
const state = path.join(os.homedir(), '.docker-shim');
mkdirSync(state, { recursive: true });
const args = process.argv.slice(2);

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function readStdin() {
  if (process.stdin.isTTY) return '';
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString();
}

function log(entry) {
  appendFileSync(path.join(state, 'calls.log'), `${JSON.stringify({ at: new Date().toISOString(), cwd: process.cwd(), ...entry })}\n`);
}

function dotenv(file) {
  if (!existsSync(file)) return {};
  const vars = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return vars;
}

function interpolate(value, vars) {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_, name, def) => vars[name] ?? def ?? '');
}

function loadCompose(files) {
  const vars = { ...dotenv('.env'), ...process.env };
  const services = {};
  for (const f of files) {
    if (!existsSync(f)) fail(`open ${path.resolve(f)}: no such file or directory`, 14);
    const doc = parse(interpolate(readFileSync(f, 'utf8'), vars)) ?? {};
    for (const [name, svc] of Object.entries(doc.services ?? {})) services[name] = { ...(services[name] ?? {}), ...svc };
  }
  return services;
}

function appService(services) {
  const entry = Object.entries(services).find(([, s]) => s.image && s.ports) ?? Object.entries(services).find(([, s]) => s.image);
  if (!entry) fail('no service with an image in the compose files');
  return entry;
}

function running(project) {
  const file = path.join(state, `${project}.json`);
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8'));
  try {
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

async function stopApp(project) {
  const info = running(project);
  if (!info) return;
  process.kill(info.pid, 'SIGTERM');
  for (let i = 0; i < 150; i++) {
    try {
      process.kill(info.pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.kill(info.pid, 'SIGKILL');
}

async function compose(rest) {
  let project = path.basename(process.cwd());
  const files = [];
  let i = 0;
  for (; i < rest.length; i++) {
    if (rest[i] === '-p' || rest[i] === '--project-name') project = rest[++i];
    else if (rest[i] === '-f' || rest[i] === '--file') files.push(rest[++i]);
    else break;
  }
  const [sub, ...flags] = rest.slice(i);
  if (!files.length) files.push('docker-compose.yml');
  const services = loadCompose(files);
  const [name, svc] = appService(services);
  const image = String(svc.image);
  const tag = image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : 'latest';
  log({ cmd: 'compose', sub, flags, project, files, image });
  if (sub === 'pull') {
    if (!tag || /[^A-Za-z0-9._-]/.test(tag)) fail(`invalid reference format: ${image}`);
    if (tag.includes('missing')) fail(`manifest for ${image} not found: manifest unknown`);
    console.log(`${name} Pulled`);
    return;
  }
  if (sub === 'up') {
    if (!flags.includes('-d')) fail('the sandbox shim only runs detached (up -d)');
    await stopApp(project);
    const hostPort = Number(String((svc.ports ?? ['8080:8080'])[0]).split(':').slice(-2)[0]);
    const envFiles = [].concat(svc.env_file ?? []).map((f) => dotenv(f));
    const environment = Array.isArray(svc.environment)
      ? Object.fromEntries(svc.environment.map((kv) => kv.split('=')))
      : svc.environment ?? {};
    const out = openSync(path.join(state, `${project}.log`), 'a');
    // The droplet's address in argv lets the sandbox find an app its state file lost track of.
    const child = spawn(process.execPath, [path.join(here, 'sample-app.mjs'), '--droplet', process.env.DROPLET_ADDRESS ?? '127.0.0.1'], {
      detached: true,
      stdio: ['ignore', out, out],
      env: {
        ...Object.assign({}, ...envFiles), ...environment, PATH: process.env.PATH, HOME: os.homedir(),
        DROPLET_NAME: process.env.DROPLET_NAME, APP_RELEASE: tag, APP_HOST: process.env.DROPLET_ADDRESS ?? '127.0.0.1',
        APP_PORT: String(hostPort), APP_BOOT_MS: process.env.APP_BOOT_MS ?? '3000', APP_REQUEST_MS: process.env.APP_REQUEST_MS ?? '0',
      },
    });
    child.unref();
    writeFileSync(path.join(state, `${project}.json`), JSON.stringify({ pid: child.pid, release: tag, service: name, port: hostPort, cwd: process.cwd() }));
    console.log(`Container ${project}-${name}-1 Started`);
    return;
  }
  if (sub === 'down') {
    await stopApp(project);
    return;
  }
  if (sub === 'ps') {
    const info = running(project);
    console.log(info ? `${project}-${info.service}-1  ${image}  running` : '');
    return;
  }
  fail(`docker compose ${sub}: not supported by the sandbox shim`);
}

async function main() {
  const [cmd, ...rest] = args;
  if (cmd === 'login') {
    const stdin = await readStdin();
    const server = rest[0] && !rest[0].startsWith('-') ? rest[0] : 'docker.io';
    log({ cmd: 'login', argv: args, stdinBytes: stdin.length });
    if (!rest.includes('--password-stdin')) fail('the sandbox shim accepts only --password-stdin');
    if (!stdin.trim()) fail('Error: Cannot perform an interactive login from a non TTY device');
    mkdirSync(path.join(os.homedir(), '.docker'), { recursive: true });
    writeFileSync(path.join(os.homedir(), '.docker', 'config.json'), JSON.stringify({ auths: { [server]: {} } }));
    console.log('Login Succeeded');
    return;
  }
  if (cmd === 'compose') return compose(rest);
  if (cmd === 'image' && rest[0] === 'prune') {
    log({ cmd: 'image prune', argv: args });
    console.log('Total reclaimed space: 0B');
    return;
  }
  if (cmd === 'system' && rest[0] === 'prune') {
    log({ cmd: 'system prune', argv: args, deletedVolumes: rest.includes('--volumes') });
    return;
  }
  log({ cmd: 'unsupported', argv: args });
  fail(`docker ${cmd}: not supported by the sandbox shim`);
}

main().catch((err) => fail(String(err?.stack ?? err)));
