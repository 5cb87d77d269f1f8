import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { buildSync } from 'esbuild';

let cached: string | undefined;

/**
 * Returns `@wsauth/client` bundled as one browser script (an IIFE whose global `WsAuthClient`
 * contains the exports), for a demo's `GET /client.js`. It is built from the package's source on
 * the first call, so the demos need no build step.
 */
export function clientScript(): string {
  if (cached === undefined) {
    const entry = createRequire(import.meta.url).resolve('@wsauth/client');
    const result = buildSync({
      entryPoints: [entry],
      bundle: true,
      format: 'iife',
      globalName: 'WsAuthClient',
      platform: 'browser',
      target: 'es2020',
      write: false,
    });
    cached = result.outputFiles[0]?.text ?? '';
  }
  return cached;
}

/** The content type to serve {@link clientScript} with. */
export const clientScriptType = 'text/javascript; charset=utf-8';

/**
 * Chooses the rejection mode of a demo's WebSocket route: the page requests close codes with
 * `?rejections=close`, because a browser cannot read the HTTP status of a refused handshake;
 * every other client gets the real HTTP status.
 */
export function demoRejections(req: IncomingMessage): 'status' | 'close' {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  if (query === -1) {
    return 'status';
  }
  const params = new URLSearchParams(url.slice(query + 1));
  return params.get('rejections') === 'close' ? 'close' : 'status';
}
