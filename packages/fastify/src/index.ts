import type { MintedTicket, WsAuthServer, WsAuthUser } from '@wsauth/core';
import { wsAuth } from './plugin.js';

declare module 'fastify' {
  // @fastify/passport types `request.user` as PassportUser; making it extend WsAuthUser gives
  // HTTP routes, hooks and socket handlers one user type, with or without passport installed.
  interface PassportUser extends WsAuthUser {}

  interface FastifyRequest {
    user?: PassportUser;
  }

  interface InjectWSOption {
    /**
     * The client address of the injected connection, as `request.ip`, the per-client limits and
     * the ticket binding read it.
     * @default '127.0.0.1'
     */
    remoteAddress?: string;
  }

  interface FastifyInstance {
    /** The wsauth handshake pipeline of this app: open sockets, revocation and extensions. */
    wsauth: WsAuthServer;
    /**
     * Mints a one-time ticket for the user the request's hooks authenticated, for a REST route
     * such as `POST /api/ws-ticket`. Rejects with `WSAUTH_ERR_TICKET_WITHOUT_USER` (status 401)
     * when the request has no user. The ticket is bound to the request's `Origin`.
     */
    mintWsTicket(request: FastifyRequest): Promise<MintedTicket>;
  }
}

export { defaultContext } from './context.js';
export { UnexpectedResponseError } from './inject.js';
export type { FastifyWsAuthOptions } from './options.js';
export { wsAuth };
export default wsAuth;
export type { AuthContext, WsAuthServer, WsAuthUser } from '@wsauth/core';
