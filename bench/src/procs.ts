// Starting the server and generator processes: pinned to their own cores with taskset where the
// machine has it and at least two cores, with the open-file limit raised to the hard limit.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { assertPackagesBuilt, BUILT_PACKAGES_FLAG } from './built.js';

/** The cores the processes run on, and their open-file limit. */
export interface Placement {
  pinned: boolean;
  serverCore: number | null;
  generatorCore: number | null;
  fileLimit: number;
}

/** Decides the placement once per run: server on core 0, generator on core 1. */
export function detectPlacement(): Placement {
  const taskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  const pinned = taskset && availableParallelism() >= 2;
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  const fileLimit = hard === 'unlimited' ? 1_048_576 : Number(hard);
  return {
    pinned,
    serverCore: pinned ? 0 : null,
    generatorCore: pinned ? 1 : null,
    fileLimit: Number.isFinite(fileLimit) ? fileLimit : 1024,
  };
}

/** A child process that replies to each IPC message with one message. */
export class Worker {
  readonly #child: ChildProcess;
  #exited = false;

  constructor(child: ChildProcess) {
    this.#child = child;
    child.once('exit', () => {
      this.#exited = true;
    });
  }

  /** Waits for the next message without sending one (the server's `ready`). */
  next<T>(timeoutMs = 60_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error('no message from the child in time')),
        timeoutMs,
      );
      const onMessage = (message: T): void => {
        cleanup();
        resolve(message);
      };
      const onExit = (code: number | null): void => done(new Error(`child exited with ${code}`));
      const done = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
      };
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
    });
  }

  /** Sends one message and waits for the reply. Calls on one worker must not overlap. */
  request<T>(message: object, timeoutMs = 600_000): Promise<T> {
    const answer = this.next<T>(timeoutMs);
    this.#child.send(message);
    return answer;
  }

  /**
   * Ends the process and waits for it to exit: with SIGTERM, or with a `stop` message that lets
   * it exit normally (which `--cpu-prof` needs to write its profile).
   */
  async stop(how: 'signal' | 'graceful' = 'signal'): Promise<void> {
    if (this.#exited) {
      return;
    }
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    if (how === 'graceful') {
      this.#child.send({ kind: 'stop' });
    } else {
      this.#child.kill('SIGTERM');
    }
    await exited;
  }
}

const tsxArgs = ['--import', 'tsx', BUILT_PACKAGES_FLAG];
let checkedBuild = false;

/** Starts `script` (a file in this folder) under node, pinned to `core` when given. */
export function startProcess(
  script: string,
  args: readonly string[],
  placement: Placement,
  core: number | null,
  options: { nodeFlags?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Worker {
  if (!checkedBuild) {
    assertPackagesBuilt();
    checkedBuild = true;
  }
  const path = fileURLToPath(new URL(script, import.meta.url));
  const node = [process.execPath, ...tsxArgs, ...(options.nodeFlags ?? []), path, ...args];
  const command = core === null ? node : ['taskset', '-c', String(core), ...node];
  // `sh` raises the soft limit on open files for the child only; `exec` keeps the IPC channel.
  const child = spawn(
    'sh',
    ['-c', 'ulimit -n "$0" 2>/dev/null; exec "$@"', String(placement.fileLimit), ...command],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
    },
  );
  return new Worker(child);
}
