/** Settings every demo reads from the environment. */
export interface DemoConfig {
  port: number;
  host: string;
  sessionSecret: string;
  allowedOrigins: string[];
  redisUrl: string | undefined;
}

const DEV_SECRET = 'wsauth-demo-development-secret';

/**
 * Reads `PORT` (default 3000), `HOST` (default 127.0.0.1), `SESSION_SECRET`, `ALLOWED_ORIGINS`
 * (comma-separated) and `REDIS_URL`. Throws with the variable's name when a value is invalid.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`Invalid PORT "${env.PORT}": use a whole number from 0 to 65535.`);
  }

  const sessionSecret = env.SESSION_SECRET ?? '';
  if (sessionSecret === '') {
    console.warn(
      'SESSION_SECRET is not set: using a development secret. Set SESSION_SECRET in production.',
    );
  }

  return {
    port,
    host: env.HOST === undefined || env.HOST === '' ? '127.0.0.1' : env.HOST,
    sessionSecret: sessionSecret === '' ? DEV_SECRET : sessionSecret,
    allowedOrigins: (env.ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
    redisUrl: env.REDIS_URL === '' ? undefined : env.REDIS_URL,
  };
}

/** Prints the line the demos promise once the server listens, with the real port. */
export function announceListening(
  address: string | { address: string; port: number } | null,
): void {
  if (address === null || typeof address === 'string') {
    console.log(`listening on ${address ?? 'unknown address'}`);
    return;
  }
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  console.log(`listening on http://${host}:${address.port}`);
}
