import { Duplex } from 'node:stream';

/** Peer details of the server end, as `net.Socket` and `tls.TLSSocket` expose them. */
export interface MemoryPeer {
  readonly remoteAddress: string;
  /** True when the connection replaces a TLS connection, so the request's scheme is `https`. */
  readonly encrypted: boolean;
}

/**
 * One end of an in-memory connection. The bytes written to one end are read from the other,
 * with backpressure. Ending one end ends the other's readable side, as a TCP FIN does, and both
 * ends close once each has ended. Bytes written after the peer closed are dropped, as they are
 * after a TCP peer closes without a reset.
 */
export class MemorySocket extends Duplex {
  /** The client address, as `net.Socket` reports it. It is `undefined` on the client end. */
  readonly remoteAddress: string | undefined;
  readonly encrypted: boolean;
  #peer: MemorySocket | undefined;
  #peerEnded = false;
  // The peer's pending write callback, called once this end reads again.
  #resumeWriter: (() => void) | undefined;

  private constructor(peer: Partial<MemoryPeer>) {
    // As on a net.Socket, the writable side ends when the readable side ends.
    super({ allowHalfOpen: false });
    this.remoteAddress = peer.remoteAddress;
    this.encrypted = peer.encrypted ?? false;
  }

  /** Creates two connected ends. `server` reads what `client` writes, and the other way round. */
  static pair(server: MemoryPeer): { client: MemorySocket; server: MemorySocket } {
    const clientEnd = new MemorySocket({});
    const serverEnd = new MemorySocket(server);
    clientEnd.#peer = serverEnd;
    serverEnd.#peer = clientEnd;
    return { client: clientEnd, server: serverEnd };
  }

  override _read(): void {
    const resume = this.#resumeWriter;
    this.#resumeWriter = undefined;
    resume?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    // A network delivers in a later tick. Delivering at once runs the peer's data handlers inside
    // this write, and there ws 8.23 calls its own close() a second time and leaks a close timer.
    process.nextTick(() => this.#deliver(chunk, callback));
  }

  override _final(callback: () => void): void {
    this.#endPeer();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // After the chunks already written, as a TCP FIN follows the data sent before it.
    process.nextTick(() => this.#endPeer());
    // A writer waiting for this end to read would otherwise never finish.
    this._read();
    callback(error);
  }

  #deliver(chunk: Buffer, callback: () => void): void {
    const peer = this.#peer;
    if (peer === undefined || this.#peerEnded || peer.destroyed) {
      callback();
      return;
    }
    if (peer.push(chunk)) {
      callback();
    } else {
      peer.#resumeWriter = callback;
    }
  }

  #endPeer(): void {
    if (this.#peerEnded) {
      return;
    }
    this.#peerEnded = true;
    if (this.#peer !== undefined && !this.#peer.destroyed) {
      this.#peer.push(null);
    }
  }
}
