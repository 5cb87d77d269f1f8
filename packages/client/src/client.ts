import {
  backoffDelay,
  type ReconnectOptions,
  type ResolvedReconnect,
  resolveReconnect,
} from './backoff.js';
import {
  asError,
  fetchTicket,
  invalidTokenReason,
  tokenProtocols,
  withTicket,
} from './credentials.js';
import { TypedEmitter } from './emitter.js';
import type {
  CredentialSource,
  FetchLike,
  Rejected,
  SocketEventLike,
  WebSocketConstructor,
  WebSocketLike,
  WsAuthClientEvents,
} from './types.js';

/** Options of {@link WsAuthClient}. */
export interface WsAuthClientOptions {
  /** The WebSocket URL. In a browser a path such as `/ws` is resolved against the page. */
  url: string;
  /**
   * Endpoint that mints a one-time ticket (`POST`, with cookies). A fresh ticket is fetched
   * before every attempt and sent as `?ticket=`.
   * @default undefined
   */
  ticketUrl?: string;
  /**
   * Bearer token sent through the `wsauth.bearer` subprotocol; a function is called before
   * every attempt, so it can refresh the token.
   * @default undefined
   */
  token?: string | (() => string | Promise<string>);
  /**
   * The app's own subprotocols. With a token and none given, the marker `wsauth` is offered.
   * @default []
   */
  protocols?: string[];
  /**
   * Reconnect with capped exponential backoff and jitter, or `false` to connect once.
   * @default {}
   */
  reconnect?: ReconnectOptions | false;
  /**
   * The WebSocket class. Required in Node 20, which has no global WebSocket: pass the one the
   * `ws` package exports.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /**
   * The fetch function used for tickets.
   * @default globalThis.fetch
   */
  fetch?: FetchLike;
}

type State = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;
// ws reports a refused handshake as "Unexpected server response: 401"; browsers report nothing.
const UNEXPECTED_RESPONSE = /Unexpected server response: (\d{3})/;

/**
 * A WebSocket connection to a wsauth server that authenticates with a ticket, a token or the
 * browser's cookies, reconnects with backoff, and stops when the server closes with 4401 or 4403.
 */
export class WsAuthClient extends TypedEmitter<WsAuthClientEvents> {
  readonly #options: WsAuthClientOptions;
  readonly #reconnect: ResolvedReconnect | undefined;
  readonly #WebSocket: WebSocketConstructor;
  readonly #fetch: FetchLike | undefined;
  #state: State = 'idle';
  #socket: WebSocketLike | undefined;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refusedStatus: number | undefined;
  #openedAt: number | undefined;

  constructor(options: WsAuthClientOptions) {
    super();
    if (typeof options?.url !== 'string' || options.url === '') {
      throw new TypeError('WsAuthClient: the "url" option is required.');
    }
    this.#options = { ...options };
    this.#reconnect = options.reconnect === false ? undefined : resolveReconnect(options.reconnect);
    this.#WebSocket = options.WebSocket ?? globalWebSocket();
    this.#fetch = options.fetch ?? globalFetch();
    if (options.ticketUrl !== undefined && this.#fetch === undefined) {
      throw new TypeError('WsAuthClient: "ticketUrl" needs fetch; pass the "fetch" option.');
    }
  }

  /** `'idle'`, `'connecting'`, `'open'`, `'waiting'` (for a reconnect) or `'stopped'`. */
  get state(): State {
    return this.#state;
  }

  /** The open socket, if any. */
  get socket(): WebSocketLike | undefined {
    return this.#state === 'open' ? this.#socket : undefined;
  }

  /** Starts connecting. Calling it again after a stop starts over. */
  connect(): void {
    if (this.#state === 'connecting' || this.#state === 'open' || this.#state === 'waiting') {
      return;
    }
    this.#failures = 0;
    void this.#attempt();
  }

  /** Sends a message; returns false when the socket is not open. */
  send(data: string | ArrayBuffer | ArrayBufferView): boolean {
    const socket = this.socket;
    if (socket === undefined) {
      return false;
    }
    socket.send(data);
    return true;
  }

  /** Closes the socket and stops reconnecting. */
  close(code = 1000, reason = ''): void {
    const socket = this.#socket;
    this.#stop('closed');
    socket?.close(code, reason);
  }

  async #attempt(): Promise<void> {
    this.#state = 'connecting';
    this.#refusedStatus = undefined;
    const credential: CredentialSource =
      this.#options.ticketUrl !== undefined
        ? 'ticket'
        : this.#options.token !== undefined
          ? 'token'
          : 'ambient';
    this.#emit('connecting', { attempt: this.#failures, credential });

    const target = await this.#target();
    if (this.#state !== 'connecting' || target === undefined) {
      return;
    }

    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(target.url, target.protocols);
    } catch (error) {
      this.#emitError(asError(error, 'Opening the WebSocket failed'));
      this.#stop('gave-up');
      return;
    }
    this.#socket = socket;
    this.#listen(socket);
  }

  // Resolves the URL and protocols for one attempt, or undefined when the attempt ended.
  async #target(): Promise<{ url: string; protocols: string[] | undefined } | undefined> {
    const url = resolveUrl(this.#options.url);
    const appProtocols = this.#options.protocols ?? [];

    if (this.#options.ticketUrl !== undefined && this.#fetch !== undefined) {
      const result = await fetchTicket(this.#fetch, this.#options.ticketUrl);
      if (this.#state !== 'connecting') {
        return undefined;
      }
      if (result.kind === 'rejected') {
        this.#reject(result.rejected);
        return undefined;
      }
      if (result.kind === 'failed') {
        this.#emitError(result.error);
        this.#retry();
        return undefined;
      }
      return { url: withTicket(url, result.ticket), protocols: protocolsOrNone(appProtocols) };
    }

    const token = await this.#token();
    if (this.#state !== 'connecting') {
      return undefined;
    }
    if (token === undefined) {
      return { url, protocols: protocolsOrNone(appProtocols) };
    }
    const invalid = invalidTokenReason(appProtocols, token);
    if (invalid !== undefined) {
      this.#emitError(new Error(`${invalid} The client stopped without connecting.`));
      this.#stop('gave-up');
      return undefined;
    }
    return { url, protocols: tokenProtocols(appProtocols, token) };
  }

  async #token(): Promise<string | undefined> {
    const option = this.#options.token;
    if (option === undefined) {
      return undefined;
    }
    try {
      return typeof option === 'function' ? await option() : option;
    } catch (error) {
      this.#emitError(asError(error, 'Getting the token failed'));
      this.#retry();
      return undefined;
    }
  }

  #listen(socket: WebSocketLike): void {
    socket.addEventListener('open', () => {
      if (this.#socket !== socket) {
        return;
      }
      this.#state = 'open';
      this.#openedAt = Date.now();
      this.#emit('open', { protocol: socket.protocol });
    });
    socket.addEventListener('message', (event) => {
      if (this.#socket === socket) {
        this.#emit('message', { data: event.data });
      }
    });
    socket.addEventListener('error', (event) => {
      const status = UNEXPECTED_RESPONSE.exec(event.message ?? '')?.[1];
      this.#refusedStatus = status === undefined ? undefined : Number(status);
    });
    socket.addEventListener('close', (event) => this.#onClose(socket, event));
  }

  #onClose(socket: WebSocketLike, event: SocketEventLike): void {
    if (this.#socket !== socket) {
      return;
    }
    this.#socket = undefined;
    const openedFor = this.#openedAt === undefined ? 0 : Date.now() - this.#openedAt;
    this.#openedAt = undefined;
    if (this.#reconnect !== undefined && openedFor >= this.#reconnect.stableAfterMs) {
      this.#failures = 0;
    }
    const code = event.code ?? 1006;
    const reason = event.reason ?? '';
    this.#emit('close', { code, reason, wasClean: event.wasClean === true });

    if (this.#state === 'stopped') {
      return;
    }
    if (code === CLOSE_UNAUTHENTICATED || code === CLOSE_FORBIDDEN) {
      this.#reject({ code, source: 'close', reason, details: parseReason(reason) });
      return;
    }
    if (this.#refusedStatus === 401 || this.#refusedStatus === 403) {
      const refused = this.#refusedStatus === 401 ? CLOSE_UNAUTHENTICATED : CLOSE_FORBIDDEN;
      const text = `The handshake was answered with ${this.#refusedStatus}.`;
      this.#reject({ code: refused, source: 'status', reason: text, details: undefined });
      return;
    }
    this.#retry();
  }

  #retry(): void {
    const reconnect = this.#reconnect;
    this.#failures += 1;
    if (reconnect === undefined || this.#failures > reconnect.maxAttempts) {
      this.#stop('gave-up');
      return;
    }

    const delayMs = backoffDelay(this.#failures, reconnect);
    this.#state = 'waiting';
    this.#emit('reconnecting', { attempt: this.#failures, delayMs });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#attempt();
    }, delayMs);
  }

  #reject(rejected: Rejected): void {
    this.#stop('rejected');
    this.#emit('rejected', rejected);
  }

  #stop(reason: WsAuthClientEvents['stopped']['reason']): void {
    if (this.#state === 'stopped') {
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#state = 'stopped';
    this.#emit('stopped', { reason });
  }

  #emit<K extends keyof WsAuthClientEvents>(type: K, event: WsAuthClientEvents[K]): void {
    for (const error of this.emit(type, event)) {
      if (type !== 'error') {
        this.#emitError(asError(error, `A "${String(type)}" listener threw`));
      }
    }
  }

  #emitError(error: Error): void {
    this.emit('error', { error });
  }
}

function protocolsOrNone(protocols: readonly string[]): string[] | undefined {
  return protocols.length === 0 ? undefined : [...protocols];
}

function parseReason(reason: string): Rejected['details'] {
  try {
    const parsed: unknown = JSON.parse(reason);
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Rejected['details'])
      : undefined;
  } catch {
    return undefined;
  }
}

// Turns `/ws` into `ws://host/ws` on a page; absolute URLs pass unchanged.
function resolveUrl(url: string): string {
  const location = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!url.startsWith('/') || location === undefined) {
    return url;
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${url}`;
}

function globalWebSocket(): WebSocketConstructor {
  const found = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (found === undefined) {
    throw new TypeError(
      'WsAuthClient: no global WebSocket; pass the "WebSocket" option (for example from "ws").',
    );
  }
  return found;
}

function globalFetch(): FetchLike | undefined {
  const found = (globalThis as { fetch?: FetchLike }).fetch;
  return found === undefined ? undefined : found.bind(globalThis);
}
