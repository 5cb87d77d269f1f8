export { clientAddress } from './address.js';
export {
  BEARER_PROTOCOL_PREFIX,
  PROTOCOL_MARKER,
} from './carriers/bearer-protocol.js';
export type { CarriedCredential } from './carriers/carried.js';
export {
  type CloseCode,
  CloseCodes,
  type CloseReason,
  type RejectionMode,
  type RejectionModeSelector,
} from './carriers/close-codes.js';
export { MemoryTicketStore, type TicketRecord, type TicketStore } from './carriers/ticket-store.js';
export {
  type MintedTicket,
  TICKET_PARAMETER,
  type TicketInput,
  type TicketOptions,
  Tickets,
  ticketKey,
} from './carriers/tickets.js';
export { credentialKindOf } from './credential.js';
export { channelNames, type HandshakeEvent, redactUrl } from './diagnostics.js';
export { type ErrorCode, ErrorCodes, WsAuthError, type WsAuthErrorOptions } from './errors.js';
export { Handshake, type HandshakeOutcome, type SocketHandler } from './handshake.js';
export * from './lifecycle/index.js';
export type { WsAuthOptions } from './options.js';
export { carriesCredentialCookie, normalizeOrigin, requestOrigin } from './origin.js';
export { type Rejection, rejection } from './rejection.js';
export {
  getHandshake,
  type HandshakeExtension,
  type UpgradeRouter,
  WsAuthServer,
} from './server.js';
export { parseSubprotocols } from './subprotocol.js';
export { pathnameOf } from './target.js';
export type {
  AcceptInput,
  AuthContext,
  CredentialKind,
  TrustProxy,
  WsAuthLogger,
  WsAuthUser,
} from './types.js';
export { writeRejection } from './write.js';
