import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** A demo server started as its own process, the way its `start` script runs it. */
export interface DemoProcess {
  /** The `http://HOST:PORT` address the demo printed. */
  url: string;
  /** Stops the process with SIGTERM. */
  stop(): void;
}

/**
 * Starts `src/server.ts` of the demo in `root` with `PORT=0` and resolves once it prints
 * `listening on <url>`. Rejects with the demo's output if it exits first.
 */
export function startDemoProcess(root: string, env: NodeJS.ProcessEnv = {}): Promise<DemoProcess> {
  const tsx = join(root, 'node_modules/.bin/tsx');
  const child = spawn(tsx, ['src/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SESSION_SECRET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        resolve({ url: match[1], stop: () => child.kill('SIGTERM') });
      }
    });
    child.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${output}`)));
  });
}
