// Makes sure Debian's Chromium is at /usr/bin/chromium before the browser tests start. When it
// is missing and this process runs as root, apt-get installs it. Otherwise the run stops with
// the install command. Playwright's own browser download is not used, because it fetches a
// browser build from outside the package registries.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const INSTALL_COMMAND = 'sudo apt-get update && sudo apt-get install -y chromium';

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0) {
    throw new Error(
      `"${command} ${args.join(' ')}" failed with exit code ${result.status}. ` +
        `Install Chromium with: ${INSTALL_COMMAND}`,
    );
  }
}

export default function setup(): void {
  if (existsSync(CHROMIUM_PATH)) {
    return;
  }

  if (process.getuid?.() !== 0) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH} and this process is not root, so it cannot be ` +
        `installed here. Install it with: ${INSTALL_COMMAND}`,
    );
  }

  console.log(`Chromium is missing at ${CHROMIUM_PATH}; installing it with apt-get.`);
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', 'chromium']);
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing.`);
  }
}
