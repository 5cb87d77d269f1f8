import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoProcess, startDemoProcess } from '../../demo-kit/testing/demo-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const run = promisify(execFile);

let demo: DemoProcess | undefined;
let url = '';

beforeAll(async () => {
  demo = await startDemoProcess(root);
  url = demo.url;
}, 30_000);

afterAll(() => {
  demo?.stop();
});

describe('Express demo process', () => {
  it('prints the real port when PORT=0', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
  });

  it('client prints the welcome for a right key', async () => {
    const wsUrl = `${url.replace('http', 'ws')}/ws`;
    const { stdout } = await run(
      tsx,
      ['src/client.ts', '--', '--key', 'alice-api-key', '--url', wsUrl],
      { cwd: root },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toEqual({ type: 'welcome', user: { id: 'alice', name: 'Alice' } });
    expect(lines[1]).toMatchObject({ type: 'echo' });
  });

  it('client prints 401 and the body for a wrong key', async () => {
    const wsUrl = `${url.replace('http', 'ws')}/ws`;
    const failure = (await run(tsx, ['src/client.ts', '--key', 'wrong-key', '--url', wsUrl], {
      cwd: root,
    }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => error,
    )) as { code: number; stdout: string };
    expect(failure.code).toBe(1);
    expect(failure.stdout).toContain('HTTP 401 Unauthorized');
    expect(failure.stdout).toContain('"error":"unauthorized"');
  });
});
