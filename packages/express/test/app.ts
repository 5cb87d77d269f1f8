import type { Server } from 'node:http';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import express5 from 'express';
import session, { MemoryStore } from 'express-session';
import express4 from 'express4';
import { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { createWsAuth, type ExpressWsAuthOptions, type WsAuthExpress } from '../src/index.js';

declare module '@wsauth/core' {
  interface WsAuthUser {
    id: string;
    name: string;
  }
}

export const versions = [
  { name: 'Express 5', express: express5 as unknown as typeof express5 },
  { name: 'Express 4', express: express4 as unknown as typeof express5 },
] as const;

export type ExpressFactory = (typeof versions)[number]['express'];

const users = new Map([['alice', { id: 'alice', name: 'Alice', password: 'secret' }]]);

/** Counters of what the app did, so tests can assert that nothing ran. */
export interface Probe {
  storeReads: number;
  deserializeCalls: number;
  handlerCalls: number;
  middlewareCalls: number;
  /** Calls of a plain GET route declared after the WebSocket route on the same path. */
  fallthroughCalls: number;
  /** Calls of deserializeUser that have called back. */
  deserializeDone: number;
  /** When set, deserializeUser waits for this promise before it calls back. */
  deserializeGate: Promise<void> | undefined;
}

export interface TestApp {
  app: Express;
  wsauth: WsAuthExpress;
  store: MemoryStore;
  probe: Probe;
  server: Server;
  port: number;
  close(): Promise<void>;
}

export const unauthorized = { error: 'unauthorized' };

/**
 * Starts an app with express-session and passport on port 0. `routes` may add routes before the
 * shared ones; the WebSocket route is GET /ws behind `requireUser`.
 */
export async function startApp(
  express: ExpressFactory,
  options: ExpressWsAuthOptions = {},
  routes?: (app: Express, wsauth: WsAuthExpress, probe: Probe) => void,
): Promise<TestApp> {
  const app = express();
  const probe: Probe = {
    storeReads: 0,
    deserializeCalls: 0,
    handlerCalls: 0,
    middlewareCalls: 0,
    fallthroughCalls: 0,
    deserializeDone: 0,
    deserializeGate: undefined,
  };
  const store = countingStore(probe);
  const passport = new Passport();
  passport.use(
    new LocalStrategy((username, password, done) => {
      const user = users.get(username);
      done(null, user !== undefined && user.password === password ? user : false);
    }),
  );
  passport.serializeUser<string>((user, done) => done(null, user.id));
  passport.deserializeUser<string>((id, done) => {
    probe.deserializeCalls++;
    const finish = (): void => {
      probe.deserializeDone++;
      done(null, users.get(id) ?? false);
    };
    if (probe.deserializeGate === undefined) {
      setImmediate(finish);
    } else {
      void probe.deserializeGate.then(finish);
    }
  });

  const wsauth = createWsAuth(app, options);
  app.use((_req, _res, next) => {
    probe.middlewareCalls++;
    next();
  });
  app.use(express.json());
  app.use(session({ secret: 'test-secret', resave: false, saveUninitialized: false, store }));
  app.use(passport.initialize());
  app.use(passport.session());

  app.post('/login', passport.authenticate('local'), (req, res) => {
    res.json({ user: req.user });
  });
  app.get('/api/me', requireUser, (req, res) => {
    res.json({ user: req.user });
  });
  routes?.(app, wsauth, probe);
  app.get(
    '/ws',
    requireUser,
    wsauth.upgrade((socket, req) => {
      probe.handlerCalls++;
      socket.send(JSON.stringify({ type: 'welcome', user: req.user }));
      socket.on('message', (data) =>
        socket.send(JSON.stringify({ type: 'echo', data: String(data) })),
      );
    }),
  );
  app.get('/ws', (_req, res) => {
    probe.fallthroughCalls++;
    res.status(404).end();
  });
  app.use(errorHandler);

  const server = app.listen(0, '127.0.0.1');
  wsauth.attach(server);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;

  return {
    app,
    wsauth,
    store,
    probe,
    server,
    port,
    async close() {
      await wsauth.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const requireUser: RequestHandler = (req, res, next) => {
  if (req.isAuthenticated()) {
    next();
    return;
  }
  const key = req.headers['x-api-key'];
  if (key === 'alice-key') {
    req.user = users.get('alice');
    next();
    return;
  }
  res.status(401).json(unauthorized);
};

const errorHandler: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status(418).json({ handled: error instanceof Error ? error.message : String(error) });
};

function countingStore(probe: Probe): MemoryStore {
  const store = new MemoryStore();
  const get = store.get.bind(store);
  store.get = (sid, callback) => {
    probe.storeReads++;
    get(sid, callback);
  };
  return store;
}

/** Logs in as alice and returns the session cookie (`name=value`). */
export async function login(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'secret' }),
  });
  if (response.status !== 200) {
    throw new Error(`login failed with ${response.status}`);
  }
  const cookie = response.headers.get('set-cookie');
  if (cookie === null) {
    throw new Error('login set no cookie');
  }
  return cookie.split(';')[0] ?? '';
}
