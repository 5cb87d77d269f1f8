/** The parts of a browser `WebSocket` event the client reads; `ws` events have the same fields. */
export interface SocketEventLike {
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
  readonly wasClean?: boolean;
  readonly message?: string;
}

/** The parts of the WebSocket API the client uses: the browser's, Node 22's or `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: 'open' | 'message' | 'close' | 'error',
    listener: (event: SocketEventLike) => void,
  ): void;
}

/** A WebSocket class, such as the browser's `WebSocket` or the one the `ws` package exports. */
export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

/** A `fetch` function; the browser's or Node's global one. */
export type FetchLike = (
  url: string,
  init: { method: string; credentials: 'include'; headers: Record<string, string> },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/** The credential a connection attempt used. */
export type CredentialSource = 'ticket' | 'token' | 'ambient';

/** The reason the client stopped instead of reconnecting: the server rejected the credential. */
export interface Rejected {
  /** 4401 (log in again) or 4403 (not allowed). */
  readonly code: 4401 | 4403;
  /** The source of the rejection: a close code, the ticket endpoint, or a handshake status. */
  readonly source: 'close' | 'ticket' | 'status';
  /** The close reason or a short description. */
  readonly reason: string;
  /** The parsed JSON close reason of a wsauth server, when there is one. */
  readonly details: { status?: number; error?: string; code?: string } | undefined;
}

/** Events of {@link WsAuthClient}. */
export interface WsAuthClientEvents {
  /** A connection attempt starts. `attempt` is 0 for the first, then counts reconnects. */
  connecting: { readonly attempt: number; readonly credential: CredentialSource };
  /** The socket is open. */
  open: { readonly protocol: string };
  /** A message arrived. `data` is a string for text frames. */
  message: { readonly data: unknown };
  /** The socket closed. */
  close: { readonly code: number; readonly reason: string; readonly wasClean: boolean };
  /** A reconnect is scheduled after `delayMs`. */
  reconnecting: { readonly attempt: number; readonly delayMs: number };
  /** The server refused the credential; the client stopped and will not retry by itself. */
  rejected: Rejected;
  /** Fetching a ticket or a token failed, or a listener threw. The client retries if it can. */
  error: { readonly error: Error };
  /** The client stopped: `close()`, a rejection, or the last allowed attempt failed. */
  stopped: { readonly reason: 'closed' | 'rejected' | 'gave-up' };
}
