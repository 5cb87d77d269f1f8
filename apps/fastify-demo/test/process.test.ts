import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

describe('Fastify demo process', () => {
  it('prints the real port when PORT=0', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
  });

  it('serves /api/me with an API key', async () => {
    const response = await fetch(`${url}/api/me`, { headers: { 'x-api-key': 'alice-api-key' } });
    expect(await response.json()).toEqual({ user: { id: 'alice', name: 'Alice' } });
  });
});
