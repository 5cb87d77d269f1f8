import { Authenticator as PassportAuthenticator, Strategy } from '@fastify/passport';
import {
  apiKeyFrom,
  type DemoUser,
  findByApiKey,
  findById,
  unauthorizedBody,
  verifyPassword,
} from '@wsauth/demo-kit';
import type { FastifyReply, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { Strategy as LocalStrategy } from 'passport-local';

declare module '@wsauth/core' {
  interface WsAuthUser extends DemoUser {}
}

type Authenticator = InstanceType<typeof PassportAuthenticator>;

/** Authenticates with the key in `X-Api-Key` or `Authorization: Bearer <key>`. */
class ApiKeyStrategy extends Strategy {
  constructor() {
    super('api-key');
  }

  override authenticate(request: FastifyRequest): void {
    const user = findByApiKey(apiKeyFrom(request.headers));
    if (user === undefined) {
      this.fail(401);
      return;
    }
    this.success(user);
  }
}

/** Creates an @fastify/passport authenticator with a password strategy and an API-key strategy. */
export function createPassport(): Authenticator {
  const passport = new PassportAuthenticator();

  passport.use(
    'local',
    new LocalStrategy((username, password, done) => {
      done(null, verifyPassword(username, password) ?? false);
    }),
  );
  passport.use('api-key', new ApiKeyStrategy());

  passport.registerUserSerializer(async (user: DemoUser) => user.id);
  passport.registerUserDeserializer(async (id: string) => findById(id) ?? null);
  return passport;
}

/**
 * Returns the guard of `/api/me` and `/ws`: it lets a request through when its session has a
 * user or it carries a valid API key, and otherwise sends 401 with the same JSON body on every
 * route, REST or WebSocket.
 */
export function requireUser(passport: Authenticator): preValidationAsyncHookHandler {
  const apiKey = passport.authenticate(
    'api-key',
    { session: false },
    async (request: FastifyRequest, reply: FastifyReply, error: unknown, user: unknown) => {
      if (error) {
        throw error;
      }
      if (!user) {
        return reply.code(401).send(unauthorizedBody);
      }
      request.user = user as DemoUser;
      return undefined;
    },
  );

  return async function guard(request, reply) {
    if (request.isAuthenticated()) {
      return undefined;
    }
    return apiKey.call(this, request, reply);
  };
}

/** Logs in with the local strategy and sends 401 JSON on wrong credentials. */
export function passwordLogin(passport: Authenticator): preValidationAsyncHookHandler {
  return passport.authenticate(
    'local',
    async (request: FastifyRequest, reply: FastifyReply, error: unknown, user: unknown) => {
      if (error) {
        throw error;
      }
      if (!user) {
        return reply
          .code(401)
          .send({ error: 'invalid_credentials', message: 'Wrong username or password.' });
      }
      await request.logIn(user as DemoUser);
      return undefined;
    },
  );
}
