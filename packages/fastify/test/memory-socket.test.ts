import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MemorySocket } from '../src/memory-socket.js';

const CHUNK = Buffer.alloc(16 * 1024, 'a');

function pair() {
  return MemorySocket.pair({ remoteAddress: '127.0.0.1', encrypted: false });
}

function collect(socket: MemorySocket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return once(socket, 'end').then(() => Buffer.concat(chunks).toString('latin1'));
}

/** Writes `count` chunks and returns a counter of the write callbacks that have run. */
function writeChunks(socket: MemorySocket, count: number): { done: () => number } {
  let done = 0;
  for (let i = 0; i < count; i++) {
    socket.write(CHUNK, () => done++);
  }
  return { done: () => done };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('MemorySocket', () => {
  it('peer reads the bytes in order', async () => {
    const { client, server } = pair();
    const received = collect(server);

    client.write('GET / ');
    client.write('HTTP/1.1');
    client.end();

    expect(await received).toBe('GET / HTTP/1.1');
  });

  it('only the server end has the address', () => {
    const { client, server } = MemorySocket.pair({ remoteAddress: '::1', encrypted: true });

    expect(server.remoteAddress).toBe('::1');
    expect(server.encrypted).toBe(true);
    expect(client.remoteAddress).toBeUndefined();
    expect(client.encrypted).toBe(false);
  });

  it('write is not delivered in the same tick', () => {
    const { client, server } = pair();
    const received: Buffer[] = [];
    server.on('data', (chunk: Buffer) => received.push(chunk));

    client.write('ping');

    expect(received).toEqual([]);
  });

  it('writer waits while the peer does not read', async () => {
    const { client, server } = pair();
    server.pause();

    const writes = writeChunks(client, 8);
    await nextTurn();
    expect(writes.done()).toBeLessThan(8);

    const received = collect(server);
    server.resume();
    client.end();
    expect((await received).length).toBe(8 * CHUNK.length);
    expect(writes.done()).toBe(8);
  });

  it('destroy ends the peer after the written bytes', async () => {
    const { client, server } = pair();
    const received = collect(server);
    const serverClosed = once(server, 'close');

    client.write('last words');
    client.destroy();

    expect(await received).toBe('last words');
    await serverClosed;
    expect(server.destroyed).toBe(true);
  });

  it('end closes both ends', async () => {
    const { client, server } = pair();
    server.resume();
    client.resume();
    const closes = Promise.all([once(client, 'close'), once(server, 'close')]);

    client.end();
    await closes;

    expect(client.destroyed).toBe(true);
    expect(server.destroyed).toBe(true);
  });

  it('destroy releases a waiting writer', async () => {
    const { client, server } = pair();
    server.pause();
    const writes = writeChunks(client, 8);
    await nextTurn();
    expect(writes.done()).toBeLessThan(8);

    server.destroy();
    client.end();
    await once(client, 'finish');

    expect(writes.done()).toBe(8);
  });
});
