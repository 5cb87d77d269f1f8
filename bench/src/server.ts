// The server process: starts one scenario server on 127.0.0.1 with port 0, logs in once to get a
// session cookie, reports `ready` over IPC and answers the orchestrator's commands.
import type { AddressInfo } from 'node:net';
import type { ServerCommand, ServerMemory, ServerReady, ServerUsage } from './protocol.js';
import { counters } from './servers/common.js';
import { type ServerKind, serverFactories } from './servers/index.js';

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    throw new Error('The server process needs --expose-gc to measure memory.');
  }
  // Two passes: the first can leave objects that only become unreachable after finalizers ran.
  gc();
  gc();
}

function usage(): ServerUsage {
  const cpu = process.cpuUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    atMs: performance.now(),
    storeReads: counters.storeReads,
    openSockets: counters.openSockets,
  };
}

function memory(): ServerMemory {
  collectGarbage();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss, openSockets: counters.openSockets };
}

async function login(port: number, path: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST' });
  const cookies = response.headers.getSetCookie().map((line) => line.split(';')[0] ?? '');
  if (response.status >= 300 || cookies.length === 0) {
    throw new Error(
      `Login at ${path} failed: status ${response.status}, ${cookies.length} cookies`,
    );
  }
  return cookies.join('; ');
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  const factory = serverFactories[kind];
  if (factory === undefined) {
    throw new Error(`Unknown server kind ${JSON.stringify(kind)}`);
  }

  const { server, loginPath } = await factory();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const cookie = loginPath === undefined ? undefined : await login(port, loginPath);

  process.on('message', (command: ServerCommand) => {
    if (command.kind === 'usage') {
      process.send?.(usage());
    } else if (command.kind === 'memory') {
      process.send?.(memory());
    } else if (command.kind === 'stop') {
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));

  const ready: ServerReady = { kind: 'ready', port, cookie };
  process.send?.(ready);
}

main().catch((error: unknown) => {
  process.stderr.write(`server failed to start: ${String(error)}\n`);
  process.exit(1);
});
