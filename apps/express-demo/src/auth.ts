import {
  apiKeyFrom,
  type DemoUser,
  findByApiKey,
  findById,
  unauthorizedBody,
  verifyPassword,
} from '@wsauth/demo-kit';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Passport } from 'passport';
import { Strategy as CustomStrategy } from 'passport-custom';
import { Strategy as LocalStrategy } from 'passport-local';

declare module '@wsauth/core' {
  interface WsAuthUser extends DemoUser {}
}

type Authenticator = InstanceType<typeof Passport>;

/** Creates a passport instance with a password strategy and an API-key strategy. */
export function createPassport(): Authenticator {
  const passport = new Passport();

  passport.use(
    'local',
    new LocalStrategy((username, password, done) => {
      done(null, verifyPassword(username, password) ?? false);
    }),
  );

  // One strategy reads the key from `X-Api-Key` or `Authorization: Bearer`, so a subprotocol
  // token moved into `Authorization` is validated by the same code.
  passport.use(
    'api-key',
    new CustomStrategy((req, done) => {
      done(null, findByApiKey(apiKeyFrom(req.headers)) ?? false);
    }),
  );

  passport.serializeUser<string>((user, done) => done(null, user.id));
  passport.deserializeUser<string>((id, done) => done(null, findById(id) ?? false));
  return passport;
}

/**
 * Lets a request through when its session has a user or it carries a valid API key; otherwise
 * answers 401 with the same JSON body on every route, REST or WebSocket.
 */
export function requireUser(passport: Authenticator): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.isAuthenticated()) {
      next();
      return;
    }

    passport.authenticate(
      'api-key',
      { session: false },
      (error: unknown, user: DemoUser | false) => {
        if (error) {
          next(error);
          return;
        }
        if (!user) {
          res.status(401).json(unauthorizedBody);
          return;
        }
        req.user = user;
        next();
      },
    )(req, res, next);
  };
}
