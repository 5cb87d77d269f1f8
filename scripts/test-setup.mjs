// Makes sure the services the test suite talks to are up before vitest starts: Redis on
// 127.0.0.1:6379. Started here when it is installed but down; installed with apt-get when it is
// missing and this process runs as root; otherwise the run stops with the command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import net from 'node:net';

const REDIS_ARGS = [
  '--daemonize',
  'yes',
  '--bind',
  '127.0.0.1',
  '--port',
  '6379',
  '--save',
  '',
  '--appendonly',
  'no',
];

function ping() {
  return new Promise((resolve) => {
    const socket = net.connect(6379, '127.0.0.1');
    socket.setTimeout(1000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

async function ensureRedis() {
  if (await ping()) {
    return;
  }

  if (!hasCommand('redis-server')) {
    const isRoot = process.getuid?.() === 0;
    if (!isRoot || !hasCommand('apt-get')) {
      throw new Error(
        'Redis is not installed. Install it with: sudo apt-get install -y redis-server',
      );
    }
    console.log('Installing redis-server with apt-get...');
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'inherit' });
  }

  console.log('Starting redis-server on 127.0.0.1:6379...');
  execFileSync('redis-server', REDIS_ARGS, { stdio: 'inherit' });
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await ping()) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    'redis-server did not respond to PING on 127.0.0.1:6379 within 5 seconds; check its log.',
  );
}

try {
  await ensureRedis();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
