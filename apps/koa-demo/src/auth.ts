import {
  apiKeyFrom,
  type DemoUser,
  findByApiKey,
  findById,
  unauthorizedBody,
  verifyPassword,
} from '@wsauth/demo-kit';
import type { Middleware } from 'koa';
import koaPassport from 'koa-passport';
import { Strategy as CustomStrategy } from 'passport-custom';
import { Strategy as LocalStrategy } from 'passport-local';

declare module '@wsauth/core' {
  interface WsAuthUser extends DemoUser {}
}

/** A koa-passport instance of its own, so that every app built in a process is independent. */
export type Authenticator = InstanceType<typeof koaPassport.KoaPassport>;

/** Creates a koa-passport instance with a password strategy and an API-key strategy. */
export function createPassport(): Authenticator {
  const passport = new koaPassport.KoaPassport();

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

  passport.serializeUser<string>((user, done) => done(null, (user as DemoUser).id));
  passport.deserializeUser<string>((id, done) => done(null, findById(id) ?? false));
  return passport;
}

/**
 * Lets a request through when its session has a user or it carries a valid API key. Otherwise
 * it responds 401 with the same JSON body on every route, REST or WebSocket.
 */
export function requireUser(passport: Authenticator): Middleware {
  return async (ctx, next) => {
    if (ctx.isAuthenticated()) {
      await next();
      return;
    }

    const authenticate = passport.authenticate(
      'api-key',
      { session: false },
      async (error: unknown, user: DemoUser | false) => {
        if (error) {
          throw error;
        }
        if (!user) {
          ctx.status = 401;
          ctx.body = unauthorizedBody;
          return;
        }
        ctx.state.user = user;
        await next();
      },
    );
    await authenticate(ctx, next);
  };
}

/** Logs in with the password strategy and responds with the user, or with 401 JSON. */
export function login(passport: Authenticator): Middleware {
  return (ctx, next) =>
    passport.authenticate('local', async (error: unknown, user: DemoUser | false) => {
      if (error) {
        throw error;
      }
      if (!user) {
        ctx.status = 401;
        ctx.body = { error: 'invalid_credentials', message: 'Wrong username or password.' };
        return;
      }
      await ctx.login(user);
      ctx.body = { user: publicUser(user) };
    })(ctx, next);
}

/** Returns only the fields the API shows of a user. */
export function publicUser(user: DemoUser): DemoUser {
  return { id: user.id, name: user.name };
}
