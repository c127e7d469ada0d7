/**
 * skick.js — the client of the Skick session protocol (PROTOCOL.md in skick-ws).
 *
 * A dependency-free ES module for browsers and for any runtime with a WHATWG
 * `WebSocket` (Node.js ≥ 22, or 20 with `--experimental-websocket`; elsewhere pass
 * `options.WebSocket`). Every Skick server serves it at `/skick.js`, with its type
 * declarations at `/skick.d.ts`.
 *
 * ```js
 * import { connect } from "/skick.js";
 *
 * const session = await connect("/", "chat", { name: "ann" }, {
 *   reconnect: true,                                       // jittered exponential backoff
 *   onQuery: async (message, schema) => confirm(message.question),  // answers server queries
 *   onError: (error) => console.warn(error.code, error.detail),
 *   onClose: (event) => console.log("closed", event.code, event.reason),
 * });
 * session.on("message", (frame) => console.log(frame));
 * session.send({ action: "say", text: "hello" });
 * for await (const frame of session) console.log(frame);  // ends when the session ends
 * await session.close();
 * ```
 *
 * Server frames are sorted out as the protocol says: `{"action": "error", …}` frames
 * become `"error"` events ({@link SkickError}), `{"action": "query", …}` frames go to
 * `onQuery` (or `"query"` listeners) and are answered with `query_reply`; everything
 * else is an application frame: a `"message"` event and the next value of the async
 * iterator.
 *
 * @module skick
 */

/** The version of this client (the skick-ws release it ships with). */
export const VERSION = "0.1.0";

/**
 * Close codes after which `reconnect` tries again by default: the server went away
 * (1001), the connection dropped (1006), the session crashed (1011), the server
 * restarts (1012), is full (1013) or a gateway failed (1014). A session the server
 * ended on purpose (1000) and a refused handshake or a policy close (1008) are final.
 * @type {readonly number[]}
 */
export const RETRY_CLOSE_CODES = Object.freeze([1001, 1006, 1011, 1012, 1013, 1014]);

const CONNECTING = 0;
const OPEN = 1;
/** How long an error event may go without its close event. */
const ERROR_GRACE_MS = 250;

const EVENTS = new Set(["message", "error", "query", "open", "close", "reconnecting"]);

const RECONNECT_DEFAULTS = Object.freeze({
  initialDelay: 500,
  maxDelay: 15000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Infinity,
  shouldRetry: (code) => RETRY_CLOSE_CODES.includes(code),
});

/**
 * An error frame from the server (`code` is one of PROTOCOL.md §5's codes, or a
 * handshake code of §2), or a local failure of the client with one of these codes:
 * `not_connected` (`send` while there is no open connection), `connect_failed` (the
 * first connection could not be opened), `query_handler` (`onQuery` threw or its
 * Promise rejected; `cause` holds the reason), `bad_frame` (the server sent
 * something that is not a JSON object).
 */
export class SkickError extends Error {
  /**
   * @param {string} code
   * @param {string} detail
   * @param {{frame?: object, cause?: unknown}} [extra]
   */
  constructor(code, detail, extra = {}) {
    super(`${code}: ${detail}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = "SkickError";
    /** The stable, machine-readable code. */
    this.code = code;
    /** The human-readable detail. */
    this.detail = detail;
    /** The error frame as received, for server errors. */
    this.frame = extra.frame;
    /** The query an error about a `query_reply` refers to. */
    this.queryId =
      extra.frame && typeof extra.frame.query_id === "string" ? extra.frame.query_id : undefined;
  }
}

/**
 * Open a session: connect to *url* and request the session *sessionType*.
 *
 * Resolves with the {@link Session} once the websocket is open and the handshake
 * frame `{...hello, session_type: sessionType}` is sent (the protocol has no
 * acknowledgement: a refused handshake arrives as an `"error"` event and a 1008
 * close). Rejects with a `connect_failed` {@link SkickError} when that first
 * connection cannot be opened; `reconnect` applies only once it was.
 *
 * @param {string | URL | null | undefined} url `ws:`/`wss:`/`http:`/`https:` URL, or
 *   a path resolved against the page's location (`"/"`: the server the page came from).
 * @param {string} sessionType A session the server offers to clients.
 * @param {object | (() => object)} [hello] Extra handshake fields (credentials, a
 *   name, …); a function is called before every (re)connection.
 * @param {ConnectOptions} [options]
 * @returns {Promise<Session>}
 */
export function connect(url, sessionType, hello = {}, options = {}) {
  const session = new Session(url, sessionType, hello, options);
  return session.opened.then(() => session);
}

/**
 * @typedef {object} ReconnectOptions
 * @property {number} [initialDelay=500] Milliseconds before the first retry.
 * @property {number} [maxDelay=15000] Upper bound of a delay.
 * @property {number} [factor=2] Growth of the delay per failed attempt.
 * @property {number} [jitter=0.5] Share of each delay drawn at random:
 *   `delay = min(maxDelay, initialDelay × factor^attempt) × (1 − jitter × random())`.
 * @property {number} [maxAttempts=Infinity] Consecutive failed attempts before giving up.
 * @property {(code: number, reason: string) => boolean} [shouldRetry] Which closes
 *   are retried; default: the codes in {@link RETRY_CLOSE_CODES}.
 */

/**
 * @typedef {object} ConnectOptions
 * @property {boolean | ReconnectOptions} [reconnect=false] Reconnect after a close the
 *   client did not ask for, requesting the session again with `hello`.
 * @property {(message: any, schema: string, query: Query) => any} [onQuery] Answers
 *   server queries: its value (or the value its Promise resolves to) is sent as the
 *   `query_reply`. Returning `undefined` sends nothing (answer later with
 *   `query.reply(value)`).
 * @property {(frame: object) => void} [onMessage] Listener of `"message"`.
 * @property {(error: SkickError) => void} [onError] Listener of `"error"`.
 * @property {(event: CloseEventInfo) => void} [onClose] Listener of `"close"`.
 * @property {(event: OpenEventInfo) => void} [onOpen] Listener of `"open"` (called
 *   for reconnections; the first open happened when `connect` resolves).
 * @property {typeof WebSocket} [WebSocket] The WebSocket class (default: the global one).
 */

/**
 * @typedef {object} Query
 * @property {string} id The `query_id`.
 * @property {any} message The question.
 * @property {string} schema The kind of answer expected (`bool`, `int`, `str`, …).
 * @property {(value: any) => boolean} reply Send the answer; false when the
 *   connection the query came on is gone (the query died with it).
 */

/**
 * @typedef {object} CloseEventInfo
 * @property {number} code The websocket close code (PROTOCOL.md §7).
 * @property {string} reason The close reason.
 * @property {boolean} wasClean Whether the closing handshake completed.
 * @property {boolean} willReconnect Whether a reconnection is scheduled.
 * @property {number} [delay] Milliseconds until it, when one is.
 */

/**
 * @typedef {object} OpenEventInfo
 * @property {boolean} reconnected False for the first connection.
 * @property {number} attempt Failed attempts before this connection (0 at first).
 */

/**
 * @typedef {object} ReconnectingEventInfo
 * @property {number} attempt The number of this attempt (1, 2, …).
 * @property {number} delay Milliseconds until it.
 * @property {number} code The close code that caused it.
 * @property {string} reason Its reason.
 */

/**
 * One session with a Skick server, across reconnections. Create it with
 * {@link connect}. Its state is `"connecting"`, `"open"`, `"reconnecting"` or
 * `"closed"` (final).
 */
export class Session {
  #url;
  #sessionType;
  #hello;
  #options;
  #retry;
  #WebSocket;
  /** @type {WebSocket | null} */
  #ws = null;
  #state = "connecting";
  #everOpened = false;
  #closing = false;
  #attempt = 0;
  #healthy = false;
  #openedAt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer = undefined;
  /** @type {Map<string, Set<Function>>} */
  #listeners = new Map();
  #resolveOpened;
  #rejectOpened;
  #resolveClosed;

  /**
   * Prefer {@link connect}, which waits for the first connection.
   * @param {string | URL | null | undefined} url
   * @param {string} sessionType
   * @param {object | (() => object)} [hello]
   * @param {ConnectOptions} [options]
   */
  constructor(url, sessionType, hello = {}, options = {}) {
    if (typeof sessionType !== "string" || sessionType === "") {
      throw new TypeError("sessionType must be a non-empty string");
    }
    if (hello === null || (typeof hello !== "object" && typeof hello !== "function")) {
      throw new TypeError("hello must be an object or a function returning one");
    }
    this.#url = resolveUrl(url);
    this.#sessionType = sessionType;
    this.#hello = hello;
    this.#options = options;
    this.#retry = reconnectOptions(options.reconnect);
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== "function") {
      throw new TypeError("no WebSocket class: pass options.WebSocket");
    }
    /** Resolves when the first connection is open; rejects if it cannot be opened. */
    this.opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.opened.catch(() => {}); // connect() reports it; no unhandled rejection here
    /**
     * Resolves once with the final close (`{code, reason, wasClean}`): the client
     * closed, the server closed for good, or reconnecting gave up.
     * @type {Promise<{code: number, reason: string, wasClean: boolean}>}
     */
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    if (typeof options.onMessage === "function") this.on("message", options.onMessage);
    if (typeof options.onError === "function") this.on("error", options.onError);
    if (typeof options.onClose === "function") this.on("close", options.onClose);
    if (typeof options.onOpen === "function") this.on("open", options.onOpen);
    this.#open();
  }

  /** The websocket URL. */
  get url() {
    return this.#url;
  }

  /** The requested session type. */
  get sessionType() {
    return this.#sessionType;
  }

  /** `"connecting"`, `"open"`, `"reconnecting"` or `"closed"`. */
  get state() {
    return this.#state;
  }

  /** Whether frames can be sent now. */
  get connected() {
    return this.#state === "open";
  }

  /**
   * The extra handshake fields sent with the next (re)connection.
   * @type {object | (() => object)}
   */
  get hello() {
    return this.#hello;
  }

  set hello(value) {
    if (value === null || (typeof value !== "object" && typeof value !== "function")) {
      throw new TypeError("hello must be an object or a function returning one");
    }
    this.#hello = value;
  }

  /**
   * Send an action frame, e.g. `{action: "say", text: "hi"}`.
   * @param {{action: string, [key: string]: any}} message
   * @throws {TypeError} when *message* is not an object with a string `action`.
   * @throws {SkickError} `not_connected` while the session is not open.
   */
  send(message) {
    if (
      message === null ||
      typeof message !== "object" ||
      Array.isArray(message) ||
      typeof message.action !== "string"
    ) {
      throw new TypeError('send() takes an action object: {action: "name", ...}');
    }
    const ws = this.#ws;
    if (this.#state !== "open" || ws === null || ws.readyState !== OPEN) {
      throw new SkickError("not_connected", `the session is ${this.#state}`);
    }
    ws.send(JSON.stringify(message));
  }

  /**
   * Listen to an event; returns a function that removes the listener.
   *
   * - `"message"` (frame): an application frame;
   * - `"error"` ({@link SkickError}): an error frame, or a local failure;
   * - `"query"` ({@link Query}): a server query (also when `onQuery` answers it);
   * - `"open"` ({@link OpenEventInfo}): a connection opened and requested the session;
   * - `"close"` ({@link CloseEventInfo}): an open connection closed;
   * - `"reconnecting"` ({@link ReconnectingEventInfo}): a reconnection is scheduled.
   *
   * @param {"message" | "error" | "query" | "open" | "close" | "reconnecting"} event
   * @param {(value: any) => void} listener
   * @returns {() => void}
   */
  on(event, listener) {
    if (!EVENTS.has(event)) throw new TypeError(`unknown event ${JSON.stringify(event)}`);
    if (typeof listener !== "function") throw new TypeError("the listener must be a function");
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  /**
   * Remove a listener added with {@link Session#on}.
   * @param {string} event
   * @param {(value: any) => void} listener
   */
  off(event, listener) {
    this.#listeners.get(event)?.delete(listener);
  }

  /**
   * The application frames received from now on, until the session is closed for
   * good (then the iteration ends). Frames that arrive between two `next()` calls
   * are buffered; breaking out of the loop stops the buffering.
   * @returns {AsyncIterableIterator<object>}
   */
  [Symbol.asyncIterator]() {
    /** @type {object[]} */
    const buffer = [];
    /** @type {((result: IteratorResult<object>) => void)[]} */
    const waiting = [];
    let done = this.#state === "closed";
    const stop = this.on("message", (frame) => {
      const resolve = waiting.shift();
      if (resolve !== undefined) resolve({ value: frame, done: false });
      else buffer.push(frame);
    });
    const end = () => {
      done = true;
      stop();
      for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true });
    };
    if (done) stop();
    else this.closed.then(end);
    return {
      next() {
        if (buffer.length > 0) return Promise.resolve({ value: buffer.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return() {
        buffer.length = 0;
        end();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Same as `session[Symbol.asyncIterator]()`. */
  messages() {
    return this[Symbol.asyncIterator]();
  }

  /**
   * Close the session for good (no reconnection); resolves with the final close.
   * @param {number} [code=1000] 1000 or 3000–4999 (what browsers allow).
   * @param {string} [reason=""]
   * @returns {Promise<{code: number, reason: string, wasClean: boolean}>}
   */
  close(code = 1000, reason = "") {
    if (this.#state === "closed" || this.#closing) return this.closed;
    this.#closing = true;
    clearTimeout(this.#timer);
    const ws = this.#ws;
    if (ws !== null && (ws.readyState === CONNECTING || ws.readyState === OPEN)) {
      ws.close(code, reason); // its close event ends the session
    } else {
      this.#finish({ code, reason, wasClean: true });
    }
    return this.closed;
  }

  // ------------------------------------------------------------------ internals

  #open() {
    let ws;
    try {
      ws = new this.#WebSocket(this.#url);
    } catch (error) {
      // A malformed URL or a refused port: like a connection that closed at once.
      this.#closedConnection(null, { code: 1006, reason: String(error), wasClean: false });
      return;
    }
    this.#ws = ws;
    this.#healthy = false;
    ws.onopen = () => this.#opened(ws);
    ws.onmessage = (event) => {
      if (ws === this.#ws) this.#frame(event.data);
    };
    ws.onclose = (event) => {
      this.#closedConnection(ws, {
        code: event.code,
        reason: event.reason,
        wasClean: event.wasClean,
      });
    };
    ws.onerror = () => {
      // A close event follows, with the details there are. Some WebSocket
      // implementations (Node 20's) forget it when the connection cannot be made:
      // then this one stands in for it.
      setTimeout(() => {
        if (ws !== this.#ws) return; // the close event came
        try {
          ws.close();
        } catch {
          // already closing
        }
        this.#closedConnection(ws, { code: 1006, reason: "", wasClean: false });
      }, ERROR_GRACE_MS);
    };
  }

  #opened(ws) {
    if (ws !== this.#ws) return;
    if (this.#closing) {
      ws.close(1000, "");
      return;
    }
    let hello;
    try {
      hello = typeof this.#hello === "function" ? this.#hello() : this.#hello;
      if (hello === null || typeof hello !== "object") {
        throw new TypeError("hello() must return an object");
      }
    } catch (error) {
      this.#emitError(new SkickError("connect_failed", String(error), { cause: error }));
      this.#closing = true;
      ws.close(1000, "");
      return;
    }
    ws.send(JSON.stringify({ ...hello, session_type: this.#sessionType }));
    const reconnected = this.#everOpened;
    const attempt = this.#attempt;
    this.#everOpened = true;
    this.#openedAt = Date.now();
    this.#state = "open";
    if (!reconnected) this.#resolveOpened();
    this.#emit("open", { reconnected, attempt });
  }

  #frame(data) {
    if (typeof data !== "string") {
      this.#emitError(new SkickError("bad_frame", "the server sent a binary frame"));
      return;
    }
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      this.#emitError(new SkickError("bad_frame", "the server sent a frame that is not JSON"));
      return;
    }
    if (frame === null || typeof frame !== "object" || Array.isArray(frame)) {
      this.#emitError(new SkickError("bad_frame", "the server sent a frame that is not an object"));
      return;
    }
    if (frame.action === "error" && typeof frame.code === "string") {
      this.#emitError(new SkickError(frame.code, String(frame.detail ?? ""), { frame }));
      return;
    }
    this.#healthy = true;
    if (frame.action === "query" && typeof frame.query_id === "string") {
      this.#query(frame);
      return;
    }
    this.#emit("message", frame);
  }

  #query(frame) {
    const ws = this.#ws;
    const id = frame.query_id;
    /** @type {Query} */
    const query = {
      id,
      message: frame.message,
      schema: typeof frame.schema === "string" ? frame.schema : "default",
      reply: (value) => {
        if (ws === null || ws !== this.#ws || ws.readyState !== OPEN) return false;
        ws.send(JSON.stringify({ action: "query_reply", query_id: id, message: value }));
        return true;
      },
    };
    this.#emit("query", query);
    const handler = this.#options.onQuery;
    if (typeof handler !== "function") return;
    const failed = (error) =>
      this.#emitError(
        new SkickError("query_handler", `onQuery failed for ${id}: ${error}`, { cause: error }),
      );
    let result;
    try {
      result = handler(query.message, query.schema, query);
    } catch (error) {
      failed(error);
      return;
    }
    Promise.resolve(result).then((value) => {
      if (value !== undefined) query.reply(value);
    }, failed);
  }

  #closedConnection(ws, info) {
    if (ws !== this.#ws) return; // a connection already given up on
    this.#ws = null;
    const wasOpen = ws !== null && this.#state === "open";
    if (!this.#everOpened && !this.#closing) {
      this.#rejectOpened(
        new SkickError(
          "connect_failed",
          `could not open ${this.#url} (close code ${info.code}${info.reason ? `: ${info.reason}` : ""})`,
        ),
      );
      this.#finish(info, false);
      return;
    }
    if (this.#closing || this.#retry === null) {
      this.#finish(info, wasOpen);
      return;
    }
    const retry = this.#retry;
    if (wasOpen && (this.#healthy || Date.now() - this.#openedAt >= retry.maxDelay)) {
      this.#attempt = 0; // that connection worked: start the backoff afresh
    }
    if (!retry.shouldRetry(info.code, info.reason) || this.#attempt >= retry.maxAttempts) {
      this.#finish(info, wasOpen);
      return;
    }
    const base = Math.min(retry.maxDelay, retry.initialDelay * retry.factor ** this.#attempt);
    const delay = Math.round(base * (1 - retry.jitter * Math.random()));
    this.#attempt += 1;
    this.#state = "reconnecting";
    if (wasOpen) this.#emit("close", { ...info, willReconnect: true, delay });
    this.#emit("reconnecting", {
      attempt: this.#attempt,
      delay,
      code: info.code,
      reason: info.reason,
    });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closing) this.#open();
    }, delay);
  }

  #finish(info, emitClose = true) {
    if (this.#state === "closed") return;
    this.#state = "closed";
    clearTimeout(this.#timer);
    if (!this.#everOpened) {
      this.#rejectOpened(new SkickError("connect_failed", "closed before it opened"));
    }
    if (emitClose) this.#emit("close", { ...info, willReconnect: false });
    this.#resolveClosed({ code: info.code, reason: info.reason, wasClean: info.wasClean });
  }

  #emitError(error) {
    this.#emit("error", error);
  }

  #emit(event, value) {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) return;
    for (const listener of [...listeners]) {
      try {
        listener(value);
      } catch (error) {
        report(error); // one failing listener does not stop the others
      }
    }
  }
}

function report(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else console.error(error);
}

function resolveUrl(url) {
  const base = typeof location !== "undefined" ? location.href : undefined;
  let parsed;
  try {
    parsed = new URL(url ?? "/", base);
  } catch {
    throw new TypeError(`not a URL: ${JSON.stringify(String(url))}`);
  }
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  else if (parsed.protocol === "https:") parsed.protocol = "wss:";
  if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
    throw new TypeError(`not a websocket URL: ${parsed.href}`);
  }
  parsed.hash = "";
  return parsed.href;
}

function reconnectOptions(option) {
  if (option === undefined || option === false || option === null) return null;
  const merged = { ...RECONNECT_DEFAULTS, ...(option === true ? {} : option) };
  for (const key of ["initialDelay", "maxDelay", "factor", "jitter"]) {
    if (typeof merged[key] !== "number" || !(merged[key] >= 0)) {
      throw new TypeError(`reconnect.${key} must be a non-negative number`);
    }
  }
  if (merged.jitter > 1) throw new TypeError("reconnect.jitter must be between 0 and 1");
  if (typeof merged.shouldRetry !== "function") {
    throw new TypeError("reconnect.shouldRetry must be a function");
  }
  return merged;
}

/** The default export: `import Skick from "/skick.js"; await Skick.connect(…)`. */
export default Object.freeze({ connect, Session, SkickError, RETRY_CLOSE_CODES, VERSION });
