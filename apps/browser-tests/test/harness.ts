import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { CHROMIUM_PATH } from './global-setup.js';

const APPS = fileURLToPath(new URL('../../', import.meta.url));

/** Folder of the screenshots the tests save, at the repository root (ignored by git). */
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

/** Lists the demo apps in apps/ that can be started: `*-demo` folders with `src/server.ts`. */
export function demoNames(): string[] {
  return readdirSync(APPS)
    .filter((name) => name.endsWith('-demo'))
    .filter((name) => existsSync(join(APPS, name, 'src', 'server.ts')))
    .sort();
}

/** A running demo process. */
export interface RunningDemo {
  readonly origin: string;
  readonly port: number;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts a demo the way a person does (its server script, `PORT=0`) and resolves once it prints
 * `listening on http://HOST:PORT`.
 */
export function startDemo(name: string): Promise<RunningDemo> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: join(APPS, name),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SESSION_SECRET: 'browser-test-secret' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${name} did not print "listening on" within 20 s:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(output);
      if (match?.[1] !== undefined && match[2] !== undefined) {
        clearTimeout(timer);
        resolve({
          origin: match[1],
          port: Number(match[2]),
          output: () => output,
          stop: () => stop(child),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening:\n${output}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A server on another port of 127.0.0.1, so its pages are a different origin than the demo. */
export interface OtherOrigin {
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * Serves one page that opens a WebSocket to `target` (the demo's `/ws`) and writes what happened
 * into `#result`: `open`, then `close <code>`.
 */
export async function startOtherOrigin(target: string): Promise<OtherOrigin> {
  const page = `<!doctype html><meta charset="utf-8"><title>other origin</title>
<p id="result"></p>
<script>
  const result = document.getElementById('result');
  const events = [];
  const socket = new WebSocket(${JSON.stringify(target)});
  socket.onopen = () => events.push('open');
  socket.onmessage = (event) => events.push('message ' + event.data);
  socket.onclose = (event) => {
    events.push('close ' + event.code);
    result.textContent = events.join('; ');
  };
</script>`;
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => {
      // Chromium keeps idle keep-alive connections open, which would hold server.close().
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A headless Chromium with a fresh profile directory, removed on close. */
export interface RunningBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches Debian's Chromium with flags that keep it off the network. Playwright takes the
 * profile directory (`--user-data-dir`) through launchPersistentContext and adds `--headless`.
 */
export async function launchChromium(): Promise<RunningBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'wsauth-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
