import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS,
  demoNames,
  launchChromium,
  type RunningBrowser,
  type RunningDemo,
  startDemo,
  startOtherOrigin,
} from './harness.js';

const ALICE_WELCOME = 'Received: {"type":"welcome","user":{"id":"alice","name":"Alice"}}';
const BOB_WELCOME = 'Received: {"type":"welcome","user":{"id":"bob","name":"Bob"}}';

let chromium: RunningBrowser;

beforeAll(async () => {
  chromium = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await chromium?.close();
});

function logLine(page: Page, text: string) {
  return page.locator('#log div', { hasText: text });
}

async function logIn(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.fill('#username', 'alice');
  await page.fill('#password', 'alice-password');
  await page.click('#login-button');
  await page.locator('#status', { hasText: 'Logged in as Alice' }).waitFor();
}

describe.each(demoNames())('%s in Chromium', (name) => {
  let demo: RunningDemo;
  let page: Page;
  const socketUrls: string[] = [];

  beforeAll(async () => {
    demo = await startDemo(name);
    // Cookies ignore the port, so every demo on 127.0.0.1 starts from an empty jar.
    await chromium.context.clearCookies();
    page = await chromium.context.newPage();
    page.on('websocket', (socket) => socketUrls.push(socket.url()));
  });

  afterAll(async () => {
    await page?.close();
    await demo?.stop();
  });

  it('logs in, connects with the cookie and echoes', async () => {
    await logIn(page, demo.origin);
    await page.click('#connect');
    await logLine(page, ALICE_WELCOME).waitFor();

    await page.fill('#message', 'hello from chromium');
    await page.click('#send-button');
    await logLine(page, '"type":"echo","data":"hello from chromium"').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, `${name}-logged-in.png`), fullPage: true });

    expect(await page.locator('#connection').textContent()).toBe(
      'Connected as Alice with the session cookie.',
    );
  });

  it('connects with a one-time ticket', async () => {
    await page.click('#connect-ticket');
    await page
      .locator('#connection', { hasText: 'Connected as Alice with a one-time ticket.' })
      .waitFor();
    await expect.poll(() => logLine(page, ALICE_WELCOME).count()).toBe(2);

    expect(socketUrls.at(-1)).toMatch(/[?&]ticket=[A-Za-z0-9_-]{43}$/);
  });

  it('connects with a token in the subprotocol', async () => {
    // Without the session cookie, so that the token alone decides who connects.
    await page.click('#logout');
    await page.locator('#status', { hasText: 'Not logged in.' }).waitFor();
    await page.fill('#token', 'bob-api-key');
    await page.click('#connect-token');
    await logLine(page, BOB_WELCOME).waitFor();

    expect(socketUrls.at(-1)).not.toContain('bob-api-key');
    expect(await page.locator('#connection').textContent()).toBe('Connected as Bob with a token.');
  });

  it('shows the 4401 reason of a refused connection', async () => {
    const before = socketUrls.length;
    await page.click('#connect');

    const rejection = page.locator('#rejection', { hasText: 'Connection refused (4401' });
    await rejection.waitFor();
    const text = (await rejection.textContent()) ?? '';
    expect(JSON.parse(text.slice(text.indexOf('{')))).toMatchObject({
      status: 401,
      error: 'unauthenticated',
    });
    await page.locator('#connection', { hasText: 'Not connected (rejected).' }).waitFor();
    expect(socketUrls.length - before).toBe(1);
  });

  it('refuses a cookie socket opened from another origin', async () => {
    await logIn(page, demo.origin);
    const other = await startOtherOrigin(`ws://127.0.0.1:${demo.port}/ws`);
    const attacker = await chromium.context.newPage();
    try {
      const errors: string[] = [];
      attacker.on('websocket', (socket) => {
        socket.on('socketerror', (message) => errors.push(message));
      });

      await attacker.goto(`${other.origin}/`);
      await attacker.locator('#result', { hasText: 'close' }).waitFor();

      expect(await attacker.locator('#result').textContent()).toBe('close 1006');
      // 403 comes from the origin check, which runs only when a credential cookie is present;
      // without the cookie the app's chain would have responded with 401.
      expect(errors).toEqual(['Error during WebSocket handshake: Unexpected response code: 403']);
    } finally {
      await attacker.close();
      await other.close();
    }
  });

  it('reports the cookie over a token', async () => {
    await logIn(page, demo.origin);
    await page.fill('#token', 'bob-api-key');
    await page.click('#connect-token');
    await page
      .locator('#connection', { hasText: 'Connected as Alice with the session cookie' })
      .waitFor();

    expect(await page.locator('#connection').textContent()).toContain(
      'log out to use the token alone',
    );
  });
});
