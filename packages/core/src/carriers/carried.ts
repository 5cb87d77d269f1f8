import type { WsAuthUser } from '../types.js';

/**
 * A credential that a carrier step put on the handshake before the chain runs. For a ticket,
 * adapters set the framework's user (`req.user`, `request.user`, `ctx.state.user`) from it.
 */
export type CarriedCredential =
  | { readonly kind: 'subprotocol' }
  | {
      readonly kind: 'ticket';
      readonly userId: string;
      readonly user: WsAuthUser | undefined;
      /** The session the ticket was minted from, which the socket then belongs to. */
      readonly sessionId: string | undefined;
    };
