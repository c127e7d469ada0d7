/**
 * Type declarations of skick.js, the client of the Skick session protocol
 * (PROTOCOL.md in skick-ws). Served by every Skick server at `/skick.d.ts`.
 */

/** The version of this client (the skick-ws release it ships with). */
export const VERSION: string;

/** Close codes after which `reconnect` tries again by default (1001, 1006, 1011–1014). */
export const RETRY_CLOSE_CODES: readonly number[];

/** A JSON object frame. */
export type Frame = { [key: string]: any };

/** An action frame a client sends: `{action: "say", text: "hi"}`. */
export type Action = { action: string; [key: string]: any };

/**
 * An error frame from the server (PROTOCOL.md §2 and §5 codes) or a local failure:
 * `not_connected`, `connect_failed`, `query_handler`, `bad_frame`.
 */
export class SkickError extends Error {
  constructor(code: string, detail: string, extra?: { frame?: Frame; cause?: unknown });
  readonly name: "SkickError";
  /** The stable, machine-readable code. */
  readonly code: string;
  /** The human-readable detail. */
  readonly detail: string;
  /** The error frame as received, for server errors. */
  readonly frame: Frame | undefined;
  /** The query an error about a `query_reply` refers to. */
  readonly queryId: string | undefined;
}

/** A server query (PROTOCOL.md §6). */
export interface Query {
  /** The `query_id`. */
  readonly id: string;
  /** The question. */
  readonly message: any;
  /** The kind of answer expected: `default`, `int`, `float`, `str`, `bool`, `list`, … */
  readonly schema: string;
  /** Send the answer; false when the connection the query came on is gone. */
  reply(value: any): boolean;
}

export interface ReconnectOptions {
  /** Milliseconds before the first retry (500). */
  initialDelay?: number;
  /** Upper bound of a delay (15000). */
  maxDelay?: number;
  /** Growth of the delay per failed attempt (2). */
  factor?: number;
  /** Share of each delay drawn at random, 0–1 (0.5). */
  jitter?: number;
  /** Consecutive failed attempts before giving up (Infinity). */
  maxAttempts?: number;
  /** Which closes are retried (default: the codes in RETRY_CLOSE_CODES). */
  shouldRetry?: (code: number, reason: string) => boolean;
}

export interface CloseEventInfo {
  code: number;
  reason: string;
  wasClean: boolean;
  /** Whether a reconnection is scheduled. */
  willReconnect: boolean;
  /** Milliseconds until it, when one is. */
  delay?: number;
}

export interface OpenEventInfo {
  /** False for the first connection. */
  reconnected: boolean;
  /** Failed attempts before this connection. */
  attempt: number;
}

export interface ReconnectingEventInfo {
  /** The number of this attempt (1, 2, …). */
  attempt: number;
  /** Milliseconds until it. */
  delay: number;
  /** The close code that caused it. */
  code: number;
  reason: string;
}

export interface FinalClose {
  code: number;
  reason: string;
  wasClean: boolean;
}

export interface ConnectOptions {
  /** Reconnect after a close the client did not ask for (jittered exponential backoff). */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Answers server queries: the value (or what the Promise resolves to) is sent as
   * the `query_reply`; `undefined` sends nothing (answer later with `query.reply`).
   */
  onQuery?: (message: any, schema: string, query: Query) => unknown;
  onMessage?: (frame: Frame) => void;
  onError?: (error: SkickError) => void;
  onClose?: (event: CloseEventInfo) => void;
  onOpen?: (event: OpenEventInfo) => void;
  /** The WebSocket class (default: the global one). */
  WebSocket?: typeof WebSocket;
}

export interface SessionEvents {
  message: Frame;
  error: SkickError;
  query: Query;
  open: OpenEventInfo;
  close: CloseEventInfo;
  reconnecting: ReconnectingEventInfo;
}

export type Hello = Frame | (() => Frame);

/** One session with a Skick server, across reconnections. */
export class Session implements AsyncIterable<Frame> {
  constructor(
    url: string | URL | null | undefined,
    sessionType: string,
    hello?: Hello,
    options?: ConnectOptions,
  );
  /** Resolves when the first connection is open; rejects if it cannot be opened. */
  readonly opened: Promise<void>;
  /** Resolves once with the final close. */
  readonly closed: Promise<FinalClose>;
  readonly url: string;
  readonly sessionType: string;
  readonly state: "connecting" | "open" | "reconnecting" | "closed";
  readonly connected: boolean;
  /** The extra handshake fields sent with the next (re)connection. */
  hello: Hello;
  /** Send an action frame; throws SkickError `not_connected` when not open. */
  send(message: Action): void;
  on<E extends keyof SessionEvents>(
    event: E,
    listener: (value: SessionEvents[E]) => void,
  ): () => void;
  off<E extends keyof SessionEvents>(event: E, listener: (value: SessionEvents[E]) => void): void;
  [Symbol.asyncIterator](): AsyncIterableIterator<Frame>;
  messages(): AsyncIterableIterator<Frame>;
  /** Close for good (no reconnection). */
  close(code?: number, reason?: string): Promise<FinalClose>;
}

/** Connect to `url` and request the session `sessionType` with the extra fields `hello`. */
export function connect(
  url: string | URL | null | undefined,
  sessionType: string,
  hello?: Hello,
  options?: ConnectOptions,
): Promise<Session>;

declare const Skick: {
  readonly connect: typeof connect;
  readonly Session: typeof Session;
  readonly SkickError: typeof SkickError;
  readonly RETRY_CLOSE_CODES: readonly number[];
  readonly VERSION: string;
};
export default Skick;
