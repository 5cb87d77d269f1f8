import type { Server } from 'node:http';
import { revokeOnDestroy } from '@wsauth/core';
import {
  clientError,
  clientScript,
  clientScriptType,
  type DemoConfig,
  type DemoUser,
  demoPage,
  demoRejections,
  verifyPassword,
} from '@wsauth/demo-kit';
import { createWsAuth, type ExpressWsAuthOptions, type WsAuthExpress } from '@wsauth/express';
import express, { type ErrorRequestHandler, type Express } from 'express';
import session, { MemoryStore, type Store } from 'express-session';
import { createPassport, requireUser } from './auth.js';

const SESSION_COOKIE = 'wsauth.sid';

/** The demo app and the parts tests inspect. */
export interface ExpressDemo {
  app: Express;
  wsauth: WsAuthExpress;
  sessionStore: Store;
  /** Starts listening and resolves with the server once it accepts connections. */
  listen(port: number, host: string): Promise<Server>;
}

/**
 * Builds the Express demo: REST and WebSocket routes behind one session and passport setup.
 * `wsauthOptions` adds the lifecycle bus and ticket store of a scaled-out deployment.
 */
export function buildApp(
  config: DemoConfig,
  sessionStore: Store = new MemoryStore(),
  wsauthOptions: ExpressWsAuthOptions = {},
): ExpressDemo {
  const app = express();
  const passport = createPassport();
  const guard = requireUser(passport);
  const wsauth = createWsAuth(app, {
    ...wsauthOptions,
    allowedOrigins: config.allowedOrigins,
    credentialCookies: [SESSION_COOKIE],
    rejections: demoRejections,
  });

  // Destroying a session (logout, passport's regeneration on login) closes its sockets with 4401.
  revokeOnDestroy(sessionStore, wsauth.core);

  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  app.use(
    session({
      name: SESSION_COOKIE,
      secret: config.sessionSecret,
      store: sessionStore,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: 24 * 60 * 60 * 1000 },
    }),
  );
  app.use(passport.initialize());
  app.use(passport.session());

  app.get('/', (_req, res) => {
    res.type('html').send(demoPage('Express'));
  });

  app.get('/client.js', (_req, res) => {
    res.type(clientScriptType).send(clientScript());
  });

  app.post('/login', (req, res, next) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const user = verifyPassword(body.username, body.password);
    if (user === undefined) {
      res
        .status(401)
        .json({ error: 'invalid_credentials', message: 'Wrong username or password.' });
      return;
    }
    req.login(user, (error) => {
      if (error) {
        next(error);
        return;
      }
      res.json({ user });
    });
  });

  app.post('/logout', (req, res, next) => {
    req.logout((logoutError) => {
      if (logoutError) {
        next(logoutError);
        return;
      }
      req.session.destroy((destroyError) => {
        if (destroyError) {
          next(destroyError);
          return;
        }
        res.clearCookie('wsauth.sid').status(204).end();
      });
    });
  });

  app.get('/api/me', guard, (req, res) => {
    res.json({ user: publicUser(req.user as DemoUser) });
  });

  app.post('/api/ws-ticket', guard, (req, res, next) => {
    wsauth.mintTicket(req).then((minted) => res.json(minted), next);
  });

  app.get(
    '/ws',
    guard,
    wsauth.upgrade((socket, req) => {
      socket.send(JSON.stringify({ type: 'welcome', user: publicUser(req.user as DemoUser) }));
      socket.on('message', (data, isBinary) => {
        if (!isBinary) {
          socket.send(JSON.stringify({ type: 'echo', data: data.toString() }));
        }
      });
    }),
  );

  app.use(jsonErrors);

  return {
    app,
    wsauth,
    sessionStore,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        const server = app.listen(port, host);
        wsauth.attach(server);
        server.once('listening', () => resolve(server));
        server.once('error', reject);
      }),
  };
}

function publicUser(user: DemoUser): DemoUser {
  return { id: user.id, name: user.name };
}

const jsonErrors: ErrorRequestHandler = (error, _req, res, _next) => {
  const client = clientError(error);
  if (client !== undefined) {
    res.status(client.status).json({ error: 'bad_request', message: client.message });
    return;
  }
  console.error('Request failed:', error instanceof Error ? error.message : error);
  res.status(500).json({ error: 'internal_error', message: 'Internal Server Error' });
};
