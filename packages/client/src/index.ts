export { backoffDelay, type ReconnectOptions, resolveReconnect } from './backoff.js';
export { WsAuthClient, type WsAuthClientOptions } from './client.js';
export {
  BEARER_PROTOCOL_PREFIX,
  base64url,
  PROTOCOL_MARKER,
  tokenProtocols,
  withTicket,
} from './credentials.js';
export type { Listener } from './emitter.js';
export type {
  CredentialSource,
  FetchLike,
  Rejected,
  SocketEventLike,
  WebSocketConstructor,
  WebSocketLike,
  WsAuthClientEvents,
} from './types.js';
