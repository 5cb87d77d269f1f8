// Starts two instances of one demo on two ports that share sessions, tickets and revocations
// through Redis, to try a logout on one instance closing a socket on the other.
//
//   node scripts/two-instances.mjs [express|fastify|koa] [--ports 3001,3002]
//
// REDIS_URL defaults to redis://127.0.0.1:6379 and REDIS_PREFIX (the key prefix) to the demo's
// own. Both instances get the same SESSION_SECRET, so a cookie set by one is valid on the other.
// Ctrl-C stops both.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const DEMOS = ['express', 'fastify', 'koa'];
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ports: { type: 'string', default: '3001,3002' } },
});
const demo = positionals[0] ?? 'express';
if (!DEMOS.includes(demo)) {
  console.error(`Unknown demo "${demo}": use one of ${DEMOS.join(', ')}.`);
  process.exit(2);
}
const ports = values.ports.split(',').map((port) => port.trim());
if (ports.length !== 2 || ports.some((port) => !/^\d+$/.test(port))) {
  console.error(`Invalid --ports "${values.ports}": give two port numbers, such as 3001,3002.`);
  process.exit(2);
}
const directory = join(root, 'apps', `${demo}-demo`);
if (!existsSync(join(directory, 'src', 'server.ts'))) {
  console.error(`The ${demo} demo is missing: ${directory}/src/server.ts does not exist.`);
  process.exit(2);
}

const env = {
  ...process.env,
  REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
  SESSION_SECRET: process.env.SESSION_SECRET || 'wsauth-two-instances-secret',
};
const children = ports.map((port, index) => start(`${'AB'[index]}`, port));
let running = children.length;

function start(label, port) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: directory,
    env: { ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prefixLines(child.stdout, process.stdout, label);
  prefixLines(child.stderr, process.stderr, label);
  child.on('exit', (code, signal) => {
    console.log(`[${label}] exited with ${signal ?? code}`);
    running -= 1;
    if (running === 0) {
      process.exit(0);
    }
    // One instance alone is not what this script promises; stop the other too.
    stop();
  });
  return child;
}

function prefixLines(stream, target, label) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      target.write(`[${label}] ${line}\n`);
    }
  });
}

function stop() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
    }
  }
}

process.once('SIGINT', stop);
process.once('SIGTERM', stop);
