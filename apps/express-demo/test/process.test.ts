import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

let server: ChildProcess;
let url: string;

beforeAll(async () => {
  server = spawn(tsx, ['src/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SESSION_SECRET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    let output = '';
    server.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    server.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)));
  });
}, 30_000);

afterAll(() => {
  server?.kill('SIGTERM');
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
    const failure = await run(tsx, ['src/client.ts', '--key', 'wrong-key', '--url', wsUrl], {
      cwd: root,
    }).catch((error: { code: number; stdout: string }) => error);
    expect('code' in failure && failure.code).toBe(1);
    expect(failure.stdout).toContain('HTTP 401 Unauthorized');
    expect(failure.stdout).toContain('"error":"unauthorized"');
  });
});
