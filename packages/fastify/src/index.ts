import type { WsAuthServer, WsAuthUser } from '@wsauth/core';
import { wsAuth } from './plugin.js';

declare module 'fastify' {
  // @fastify/passport types `request.user` as PassportUser; making it extend WsAuthUser gives
  // HTTP routes, hooks and socket handlers one user type, with or without passport installed.
  interface PassportUser extends WsAuthUser {}

  interface FastifyRequest {
    user?: PassportUser;
  }

  interface FastifyInstance {
    /** The wsauth handshake pipeline of this app: open sockets, revocation and extensions. */
    wsauth: WsAuthServer;
  }
}

export { defaultContext } from './context.js';
export type { FastifyWsAuthOptions } from './options.js';
export { wsAuth };
export default wsAuth;
export type { AuthContext, WsAuthServer, WsAuthUser } from '@wsauth/core';
