// The load generator process. It receives jobs over IPC from the orchestrator, writes pre-built
// upgrade requests over raw TCP to a server on 127.0.0.1, and reports counts, latency and its own
// CPU time. Every loop is bounded by a deadline or a count, so a job always ends by itself.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { GeneratorJob, GeneratorResult } from './protocol.js';
import { summarizeLatency } from './stats.js';
import { encodeClientFrame, HandshakeResponseParser, Opcode, readFrame } from './wire.js';

const HOST = '127.0.0.1';
// A handshake that has not completed by then counts as an error, and its socket is destroyed.
const HANDSHAKE_TIMEOUT_MS = 10_000;
// A job waits this long after its deadline for in-flight handshakes, which otherwise end at
// their own timeout.
const DRAIN_TIMEOUT_MS = 3_000;

interface Attempt {
  status: number;
  latencyMs: number;
  socket: net.Socket;
  rest: Buffer;
}

/** Opens one connection, writes the request, and resolves at the status or the first frame. */
function handshake(port: number, request: Buffer, keepOpen: boolean): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const parser = new HandshakeResponseParser();
    const socket = net.connect({ host: HOST, port, noDelay: true });

    const timer = setTimeout(() => fail(new Error('handshake timed out')), HANDSHAKE_TIMEOUT_MS);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };

    socket.once('connect', () => socket.write(request));
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed before the response')));
    socket.on('data', (chunk: Buffer) => {
      let result: ReturnType<HandshakeResponseParser['push']>;
      try {
        result = parser.push(chunk);
      } catch (error) {
        fail(error as Error);
        return;
      }
      if (result === undefined) {
        return;
      }

      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.removeAllListeners('close');
      const latencyMs = performance.now() - started;
      if (!keepOpen || result.status !== 101) {
        socket.destroy();
      }
      resolve({ status: result.status, latencyMs, socket, rest: parser.rest() });
    });
  });
}

class Tally {
  readonly statuses: Record<string, number> = {};
  readonly latencies: number[] = [];
  completed = 0;
  errors = 0;
  readonly errorMessages = new Map<string, number>();

  record(status: number, latencyMs: number): void {
    this.completed++;
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.latencies.push(latencyMs);
  }

  recordError(error: unknown): void {
    this.errors++;
    const message = error instanceof Error ? error.message : String(error);
    this.errorMessages.set(message, (this.errorMessages.get(message) ?? 0) + 1);
  }
}

function measureCpu(): () => { wallMs: number; cpuMs: number } {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpuStart);
    return { wallMs: performance.now() - wallStart, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
}

function resultOf(tally: Tally, windowMs: number, cpuMs: number): GeneratorResult {
  return {
    completed: tally.completed,
    errors: tally.errors,
    errorMessages: Object.fromEntries(tally.errorMessages),
    statuses: tally.statuses,
    ratePerSecond: (tally.completed * 1000) / windowMs,
    latency: summarizeLatency(tally.latencies),
    windowMs,
    cpuMs,
    cpuUtilisation: cpuMs / windowMs,
  };
}

/** Closed loop: `concurrency` connections, each starting the next handshake when one ends. */
async function runClosedLoop(
  port: number,
  request: Buffer,
  concurrency: number,
  durationMs: number,
): Promise<GeneratorResult> {
  const tally = new Tally();
  const stop = measureCpu();
  const deadline = performance.now() + durationMs;
  let usage = { wallMs: 0, cpuMs: 0 };

  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        const attempt = await handshake(port, request, false);
        if (performance.now() <= deadline) {
          tally.record(attempt.status, attempt.latencyMs);
        }
      } catch (error) {
        tally.recordError(error);
      }
    }
  };

  const workers = Array.from({ length: concurrency }, worker);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - performance.now())));
  usage = stop();
  await Promise.race([Promise.all(workers), delay(DRAIN_TIMEOUT_MS)]);
  return resultOf(tally, usage.wallMs, usage.cpuMs);
}

/**
 * Open loop at a fixed arrival rate. Latency counts from each handshake's scheduled start, so a
 * server that falls behind shows it in the percentiles instead of slowing the arrivals.
 */
async function runFixedRate(
  port: number,
  request: Buffer,
  ratePerSecond: number,
  durationMs: number,
  maxInFlight: number,
): Promise<GeneratorResult> {
  const tally = new Tally();
  const stop = measureCpu();
  const start = performance.now();
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const intervalMs = 1000 / ratePerSecond;
  const inFlight = new Set<Promise<void>>();
  let started = 0;

  while (started < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) / intervalMs) + 1);
    while (started < due && inFlight.size < maxInFlight) {
      const scheduled = start + started * intervalMs;
      started++;
      const task = handshake(port, request, false).then(
        (attempt) => {
          tally.record(attempt.status, performance.now() - scheduled);
        },
        (error: unknown) => tally.recordError(error),
      );
      const tracked = task.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    await delay(1);
  }

  await Promise.race([Promise.all(inFlight), delay(HANDSHAKE_TIMEOUT_MS)]);
  const usage = stop();
  return resultOf(tally, usage.wallMs, usage.cpuMs);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface HeldSocket {
  socket: net.Socket;
  rest: Buffer;
}

/** Sockets opened by `open` jobs, by group, and kept until a `release` job. */
const held = new Map<string, HeldSocket[]>();

function heldGroup(group: string): HeldSocket[] {
  let sockets = held.get(group);
  if (sockets === undefined) {
    sockets = [];
    held.set(group, sockets);
  }
  return sockets;
}

async function openAndHold(
  port: number,
  request: Buffer,
  count: number,
  concurrency: number,
  group: string,
): Promise<GeneratorResult> {
  const tally = new Tally();
  const sockets = heldGroup(group);
  const stop = measureCpu();
  let next = 0;

  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      try {
        const attempt = await handshake(port, request, true);
        tally.record(attempt.status, attempt.latencyMs);
        if (attempt.status === 101) {
          attempt.socket.on('error', () => {});
          sockets.push({ socket: attempt.socket, rest: attempt.rest });
        }
      } catch (error) {
        tally.recordError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const usage = stop();
  return resultOf(tally, usage.wallMs, usage.cpuMs);
}

/**
 * Steady state over the held sockets: each sends a text frame and sends the next when the echo
 * arrives, until the deadline. Throughput counts echoes received inside the window.
 */
async function runEcho(
  payloadBytes: number,
  durationMs: number,
  group: string,
): Promise<GeneratorResult> {
  const tally = new Tally();
  const frame = encodeClientFrame(Opcode.text, Buffer.alloc(payloadBytes, 0x61));
  const stop = measureCpu();
  const deadline = performance.now() + durationMs;

  const loops = heldGroup(group).map(
    ({ socket, rest }) =>
      new Promise<void>((resolve) => {
        let buffer = rest;
        let sentAt = performance.now();
        const finish = (): void => {
          socket.off('data', onData);
          socket.off('close', finish);
          resolve();
        };
        const onData = (chunk: Buffer): void => {
          buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
          for (let read = readFrame(buffer); read !== undefined; read = readFrame(buffer)) {
            buffer = buffer.subarray(read.size);
            if (read.opcode !== Opcode.text && read.opcode !== Opcode.binary) {
              continue;
            }
            const now = performance.now();
            if (now > deadline) {
              finish();
              return;
            }
            tally.record(101, now - sentAt);
            sentAt = now;
            socket.write(frame);
          }
        };
        socket.on('data', onData);
        socket.on('close', finish);
        socket.write(frame);
      }),
  );

  await delay(durationMs);
  const usage = stop();
  await Promise.race([Promise.all(loops), delay(DRAIN_TIMEOUT_MS)]);
  return resultOf(tally, usage.wallMs, usage.cpuMs);
}

function release(group: string): GeneratorResult {
  const tally = new Tally();
  for (const { socket } of heldGroup(group)) {
    socket.destroy();
  }
  held.delete(group);
  return resultOf(tally, 1, 0);
}

// A close frame that has not arrived this long after the logout counts as an error.
const CLOSE_TIMEOUT_MS = 5_000;

/** Resolves with the close code of the first close frame on `socket`, reading from `rest` on. */
function closeFrame(socket: net.Socket, rest: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffer = rest;
    const timer = setTimeout(() => reject(new Error('no close frame in time')), CLOSE_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (let read = readFrame(buffer); read !== undefined; read = readFrame(buffer)) {
        buffer = buffer.subarray(read.size);
        if (read.opcode === Opcode.close) {
          clearTimeout(timer);
          socket.off('data', onData);
          resolve(read.payload.length >= 2 ? read.payload.readUInt16BE(0) : 1005);
          return;
        }
      }
    };
    socket.on('data', onData);
    onData(Buffer.alloc(0));
  });
}

/** Sends one request on a new connection and discards the response. */
function sendAndForget(port: number, request: Buffer): void {
  const socket = net.connect({ host: HOST, port, noDelay: true }, () => socket.end(request));
  socket.on('error', () => {});
  socket.on('data', () => {});
}

/**
 * Opens one WebSocket per session, then logs the sessions out one by one, `intervalMs` apart,
 * and measures from writing each logout to the close frame on that session's socket. The
 * recorded status is the close code.
 */
async function runLogouts(
  job: Extract<GeneratorJob, { kind: 'logout' }>,
): Promise<GeneratorResult> {
  const tally = new Tally();
  const sockets: Attempt[] = [];
  for (const upgrade of job.upgrades) {
    const attempt = await handshake(job.port, Buffer.from(upgrade, 'latin1'), true);
    attempt.socket.on('error', () => {});
    sockets.push(attempt);
  }

  const stop = measureCpu();
  const waits = sockets.map(async (attempt, i) => {
    await delay(i * job.intervalMs);
    if (attempt.status !== 101) {
      tally.recordError(new Error(`upgrade got status ${attempt.status}`));
      return;
    }
    const started = performance.now();
    const closed = closeFrame(attempt.socket, attempt.rest);
    sendAndForget(job.logoutPort, Buffer.from(job.logouts[i] ?? '', 'latin1'));
    try {
      const code = await closed;
      tally.record(code, performance.now() - started);
    } catch (error) {
      tally.recordError(error);
    }
  });
  await Promise.all(waits);
  const usage = stop();
  for (const attempt of sockets) {
    attempt.socket.destroy();
  }
  return resultOf(tally, usage.wallMs, usage.cpuMs);
}

async function runJob(job: GeneratorJob): Promise<GeneratorResult> {
  const request = Buffer.from(job.request ?? '', 'latin1');
  switch (job.kind) {
    case 'closed':
      return runClosedLoop(job.port, request, job.concurrency, job.durationMs);
    case 'rate':
      return runFixedRate(job.port, request, job.ratePerSecond, job.durationMs, job.maxInFlight);
    case 'open':
      return openAndHold(job.port, request, job.count, job.concurrency, job.group);
    case 'echo':
      return runEcho(job.payloadBytes, job.durationMs, job.group);
    case 'release':
      return release(job.group);
    case 'logout':
      return runLogouts(job);
  }
}

process.on('message', (job: GeneratorJob) => {
  // A failed job ends the process, so the orchestrator's pending request fails with it.
  runJob(job).then(
    (result) => process.send?.(result),
    (error: unknown) => {
      process.stderr.write(`generator job ${job.kind} failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
process.on('disconnect', () => process.exit(0));
