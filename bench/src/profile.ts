// Profiles one server under closed-loop handshake load with `node --cpu-prof` and prints the
// functions with the most self time and the wsauth functions with the most total time.
//
//   node --import tsx src/profile.ts wsauth-express [seconds] [foreign-origin|no-cookie]
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { findSourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchConfig, type BenchContext, requestFor } from './measure.js';
import { detectPlacement, startProcess } from './procs.js';
import type { GeneratorResult, ServerReady } from './protocol.js';
import type { RequestPlan, Scenario } from './scenarios.js';
import type { ServerKind } from './servers/index.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
}

const REPO_ROOT = new URL('../../', import.meta.url).href;

type Locate = (url: string, line: number, column: number) => string;

function frameName(node: ProfileNode, locate: Locate): string {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${locate(url, lineNumber, columnNumber)}`;
}

/**
 * Maps profile positions in the built packages back to TypeScript source lines. Loading the same
 * files here with source maps enabled yields their maps.
 */
async function sourceLocator(profile: CpuProfile): Promise<Locate> {
  process.setSourceMapsEnabled(true);
  const urls = new Set(
    profile.nodes
      .map((node) => node.callFrame.url)
      .filter((url) => url.startsWith(`${REPO_ROOT}packages/`) && /\/dist\/.*\.js$/.test(url)),
  );
  for (const url of urls) {
    try {
      await import(url);
    } catch {
      // A file that fails to load here keeps its generated position.
    }
  }
  const short = (url: string): string =>
    url.startsWith(REPO_ROOT) ? url.slice(REPO_ROOT.length) : url.replace(/^file:\/\//, '');
  return (url, line, column) => {
    const entry = urls.has(url) ? findSourceMap(url)?.findEntry(line, column) : undefined;
    const original = entry as { originalSource?: string; originalLine?: number } | undefined;
    if (original?.originalSource !== undefined && original.originalLine !== undefined) {
      return `${short(original.originalSource)}:${original.originalLine + 1}`;
    }
    return `${short(url)}:${line + 1}`;
  };
}

/** Sums self hits per function, and total hits (self plus callees) per function. */
export function summarizeProfile(
  profile: CpuProfile,
  locate: Locate,
): {
  total: number;
  self: Map<string, number>;
  inclusive: Map<string, number>;
} {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;

  const walk = (node: ProfileNode, onStack: Set<string>): number => {
    const name = frameName(node, locate);
    const hits = node.hitCount ?? 0;
    total += hits;
    self.set(name, (self.get(name) ?? 0) + hits);
    const nested = new Set(onStack).add(name);
    let sum = hits;
    for (const child of node.children ?? []) {
      const childNode = byId.get(child);
      if (childNode !== undefined) {
        sum += walk(childNode, nested);
      }
    }
    // A recursive function counts its subtree once, at the outermost frame.
    if (!onStack.has(name)) {
      inclusive.set(name, (inclusive.get(name) ?? 0) + sum);
    }
    return sum;
  };
  const root = profile.nodes[0];
  if (root !== undefined) {
    walk(root, new Set());
  }
  return { total, self, inclusive };
}

function top(
  map: Map<string, number>,
  total: number,
  count: number,
  filter = (_: string) => true,
): string[] {
  return [...map.entries()]
    .filter(([name]) => filter(name))
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => `${((hits * 100) / total).toFixed(1).padStart(5)} %  ${name}`);
}

const requests: Record<string, RequestPlan> = {
  accept: { path: '/ws', origin: 'same', cookie: true },
  'foreign-origin': { path: '/ws', origin: 'foreign', cookie: true },
  'no-cookie': { path: '/ws', origin: 'same', cookie: false },
};

async function main(): Promise<void> {
  const server = (process.argv[2] ?? 'wsauth-express') as ServerKind;
  const seconds = Number(process.argv[3] ?? '10');
  const plan = requests[process.argv[4] ?? 'accept'] ?? requests.accept!;
  const placement = detectPlacement();
  const dir = await mkdtemp(join(tmpdir(), 'wsauth-profile-'));

  const worker = startProcess('server.ts', [server], placement, placement.serverCore, {
    nodeFlags: ['--expose-gc', '--cpu-prof', `--cpu-prof-dir=${dir}`],
    env: { NODE_ENV: 'production' },
  });
  const generator = startProcess('generator.ts', [], placement, placement.generatorCore);
  const ready = await worker.next<ServerReady>();
  const scenario: Scenario = {
    id: 'profile',
    title: 'profile',
    server,
    request: plan,
    expectedStatus: 0,
  };
  const context = { config: {} as BenchConfig, placement, generator } satisfies BenchContext;

  const result = await context.generator.request<GeneratorResult>({
    kind: 'closed',
    port: ready.port,
    request: requestFor(scenario, ready),
    concurrency: 64,
    durationMs: seconds * 1000,
  });
  await generator.stop();
  // The profile is written when the process exits normally, so ask it to exit.
  await worker.stop('graceful');

  const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'));
  if (file === undefined) {
    throw new Error(`no .cpuprofile in ${dir}`);
  }
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
  const { total, self, inclusive } = summarizeProfile(profile, await sourceLocator(profile));
  const ours = (name: string): boolean => /packages\/(core|express|fastify|koa)\/src/.test(name);

  process.stdout.write(
    [
      `${server}: ${result.ratePerSecond.toFixed(0)} handshakes/s, statuses ${JSON.stringify(result.statuses)}`,
      `profile: ${join(dir, file)}`,
      '',
      'self time:',
      ...top(self, total, 25),
      '',
      'total time, wsauth functions:',
      ...top(inclusive, total, 25, ours),
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
