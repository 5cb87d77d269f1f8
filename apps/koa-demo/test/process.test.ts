import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoProcess, startDemoProcess } from '../../demo-kit/testing/demo-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));

let demo: DemoProcess | undefined;
let url = '';

beforeAll(async () => {
  demo = await startDemoProcess(root);
  url = demo.url;
}, 30_000);

afterAll(() => {
  demo?.stop();
});

describe('Koa demo process', () => {
  it('prints the real port when PORT=0', () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
  });

  it('serves /api/me with an API key', async () => {
    const response = await fetch(`${url}/api/me`, { headers: { 'x-api-key': 'alice-api-key' } });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user: { id: 'alice', name: 'Alice' } });
  });
});
