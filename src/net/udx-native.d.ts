// Types for the parts of udx-native (a CommonJS module without its own) that net/udx-*.ts use.
// Its streams are streamx Duplexes: events and pause/resume/unshift/cork as Node's, but no
// writableLength, so the queued byte count is read from the writable state (see udx-stream.ts).

declare module 'udx-native' {
  namespace UDX {
    interface Address {
      readonly host: string;
      readonly family: number;
      readonly port: number;
    }

    interface Socket {
      readonly closing: boolean;
      bind(port: number, host: string): void;
      address(): Address | null;
      /** Resolves once every stream connected through the socket has closed and it is unbound. */
      close(): Promise<void>;
      trySend(message: Uint8Array, port: number, host: string): void;
      on(event: 'message', listener: (message: Buffer, from: Address) => void): this;
      off(event: 'message', listener: (message: Buffer, from: Address) => void): this;
    }

    interface Stream {
      readonly id: number;
      readonly remoteHost: string | null;
      readonly remotePort: number;
      /** The port of the socket it is connected through (0 before connect). */
      readonly localPort: number;
      readonly destroying: boolean;
      readonly destroyed: boolean;
      readonly _writableState: { readonly buffered: number };
      connect(socket: Socket, remoteId: number, port: number, host: string): void;
      write(chunk: Uint8Array): boolean;
      end(): void;
      destroy(error?: Error): void;
      pause(): void;
      resume(): void;
      unshift(chunk: Uint8Array): void;
      cork(): void;
      uncork(): void;
      on(event: 'data', listener: (chunk: Buffer) => void): this;
      on(event: 'end' | 'drain' | 'finish' | 'close', listener: () => void): this;
      on(event: 'error', listener: (error: Error) => void): this;
      once(event: 'close', listener: () => void): this;
    }
  }

  class UDX {
    createSocket(options?: { ipv6Only?: boolean; reuseAddress?: boolean }): UDX.Socket;
    createStream(id: number): UDX.Stream;
  }

  export = UDX;
}
