// The server process: starts one scenario server on 127.0.0.1 with port 0, logs in once to get a
// session cookie, reports `ready` over IPC and replies to the orchestrator's commands.
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import type {
  ServerCommand,
  ServerMemory,
  ServerReady,
  ServerUsage,
  SweepResult,
} from './protocol.js';
import type { ScenarioServer } from './servers/common.js';
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

// A sweep that has not finished by then is reported with the delays recorded so far.
const SWEEP_TIMEOUT_MS = 120_000;

/** Revalidates every open socket at once and records the event-loop delay until it is done. */
async function sweep(lifecycle: NonNullable<ScenarioServer['lifecycle']>): Promise<SweepResult> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const sockets = counters.openSockets;
  const started = performance.now();
  histogram.enable();
  lifecycle.revalidateAll();

  // revalidateAll arms a 0 ms timer for the checks, which fires before this 5 ms one. So the
  // sweep has started by the first poll, or has finished when every check completed within
  // that one macrotask.
  while (performance.now() - started < SWEEP_TIMEOUT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (lifecycle.pendingRevalidations() === 0) {
      break;
    }
  }
  histogram.disable();
  return {
    sockets,
    durationMs: performance.now() - started,
    loopDelayP50Ms: histogram.percentile(50) / 1e6,
    loopDelayP99Ms: histogram.percentile(99) / 1e6,
    loopDelayMaxMs: histogram.max / 1e6,
  };
}

async function loginMany(port: number, path: string, count: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    cookies.push(await login(port, path));
  }
  return cookies;
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  const factory = serverFactories[kind];
  if (factory === undefined) {
    throw new Error(`Unknown server kind ${JSON.stringify(kind)}`);
  }

  const { server, loginPath, lifecycle } = await factory();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const cookie = loginPath === undefined ? undefined : await login(port, loginPath);

  process.on('message', (command: ServerCommand) => {
    if (command.kind === 'usage') {
      process.send?.(usage());
    } else if (command.kind === 'memory') {
      // Reading RSS opens a file, which fails with EMFILE at the open-file limit.
      try {
        process.send?.(memory());
      } catch (error) {
        process.send?.({ error: String(error) });
      }
    } else if (command.kind === 'sessions' && loginPath !== undefined) {
      loginMany(port, loginPath, command.count).then((cookies) => process.send?.(cookies));
    } else if (command.kind === 'sweep' && lifecycle !== undefined) {
      sweep(lifecycle).then((result) => process.send?.(result));
    } else if (command.kind === 'snapshot') {
      collectGarbage();
      process.send?.(writeHeapSnapshot(command.path));
    } else if (command.kind !== 'stop') {
      process.send?.({ error: `${command.kind} is not supported by ${kind}` });
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
