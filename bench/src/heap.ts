// Shows what one idle authenticated socket keeps on the heap: takes a heap snapshot of a server
// before and after opening sockets, and prints the constructors whose retained count and self
// size grew the most, per socket.
//
//   node --import tsx src/heap.ts wsauth-fastify [sockets]
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchConfig, requestFor, startServer } from './measure.js';
import { detectPlacement, startProcess } from './procs.js';
import type { Scenario } from './scenarios.js';
import type { ServerKind } from './servers/index.js';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Sums count and self size per node type and name (constructor names for objects). */
export function countByConstructor(
  heap: HeapSnapshot,
): Map<string, { count: number; size: number }> {
  const fields = heap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = heap.snapshot.meta.node_types[0];
  const totals = new Map<string, { count: number; size: number }>();

  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt] ?? 0] ?? 'unknown';
    const name =
      type === 'object' || type === 'closure'
        ? (heap.strings[heap.nodes[i + nameAt] ?? 0] ?? '')
        : '';
    const key = `${type} ${name}`.trim();
    const entry = totals.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += heap.nodes[i + sizeAt] ?? 0;
    totals.set(key, entry);
  }
  return totals;
}

async function main(): Promise<void> {
  const server = (process.argv[2] ?? 'wsauth-express') as ServerKind;
  const sockets = Number(process.argv[3] ?? '2000');
  const placement = detectPlacement();
  const generator = startProcess('generator.ts', [], placement, placement.generatorCore);
  const context = { config: {} as BenchConfig, placement, generator };
  const scenario: Scenario = {
    id: 'heap',
    title: 'heap',
    server,
    request: {
      path: server === 'socket.io' ? '/socket.io/?EIO=4&transport=websocket' : '/ws',
      origin: 'same',
      cookie: server !== 'raw',
    },
    expectedStatus: 101,
  };
  const running = await startServer(context, scenario);
  const dir = await mkdtemp(join(tmpdir(), 'wsauth-heap-'));
  const request = requestFor(scenario, running.ready);
  const open = (count: number, group: string): Promise<unknown> =>
    generator.request({
      kind: 'open',
      port: running.ready.port,
      request,
      count,
      concurrency: 100,
      group,
    });

  await open(200, 'warmup');
  await generator.request({ kind: 'release', group: 'warmup' });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = await running.worker.request<string>({
    kind: 'snapshot',
    path: join(dir, 'before.heapsnapshot'),
  });
  await open(sockets, 'measured');
  const after = await running.worker.request<string>({
    kind: 'snapshot',
    path: join(dir, 'after.heapsnapshot'),
  });
  await generator.request({ kind: 'release', group: 'measured' });
  await generator.stop();
  await running.worker.stop();

  const read = async (path: string) =>
    countByConstructor(JSON.parse(await readFile(path, 'utf8')) as HeapSnapshot);
  const [base, loaded] = await Promise.all([read(before), read(after)]);
  const rows = [...loaded].map(([key, value]) => {
    const old = base.get(key) ?? { count: 0, size: 0 };
    return {
      key,
      count: (value.count - old.count) / sockets,
      size: (value.size - old.size) / sockets,
    };
  });
  rows.sort((a, b) => b.size - a.size);
  const total = rows.reduce((sum, row) => sum + row.size, 0);
  process.stdout.write(
    [
      `${server}: ${sockets} sockets, ${total.toFixed(0)} B self size per socket; snapshots in ${dir}`,
      '   B/socket  objects/socket  type and constructor',
      ...rows
        .slice(0, 30)
        .map(
          (row) =>
            `${row.size.toFixed(0).padStart(10)}  ${row.count.toFixed(2).padStart(14)}  ${row.key}`,
        ),
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`heap failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
