// skick.js against a real Skick server, under Node's test runner.
//
// tests/browser/test_skick_js.py starts the server (its sessions are defined there)
// and runs this file with SKICK_URL and SKICK_JS set; a dead port for the
// connection-failure test comes in SKICK_DEAD_URL.

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { pathToFileURL } from "node:url";

const skick = await import(pathToFileURL(process.env.SKICK_JS).href);
const { connect, Session, SkickError, RETRY_CLOSE_CODES, VERSION } = skick;
const URL_ = process.env.SKICK_URL;

const WAIT = 5000;

// Every session a test opens is closed after it, even when the test fails: an open
// socket would keep this process alive.
const opened = new Set();
function open(...args) {
  return connect(...args).then((session) => {
    opened.add(session);
    return session;
  });
}
afterEach(async () => {
  await Promise.all([...opened].map((session) => session.close()));
  opened.clear();
});

/** The next value `event` emits on `session`, bounded by WAIT. */
function next(session, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event in time`)), WAIT);
    const off = session.on(event, (value) => {
      clearTimeout(timer);
      off();
      resolve(value);
    });
  });
}

/** `promise`, or a rejection after WAIT. */
function bounded(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result in time`)), WAIT);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test("the module's exports", () => {
  assert.equal(typeof connect, "function");
  assert.equal(skick.default.connect, connect);
  assert.equal(VERSION, "0.1.0");
  assert.ok(RETRY_CLOSE_CODES.includes(1006) && !RETRY_CLOSE_CODES.includes(1000));
  assert.throws(() => new Session(URL_, ""), TypeError);
  assert.throws(() => new Session("ftp://x/", "echo"), TypeError);
  assert.throws(() => new Session(URL_, "echo", null), TypeError);
  assert.throws(() => new Session(URL_, "echo", {}, { reconnect: { jitter: 2 } }), TypeError);
});

test("handshake fields, messages as events and as an async iterator, clean close", async () => {
  const session = await open(URL_.replace("ws:", "http:"), "echo", { token: "t1" });
  assert.equal(session.url.slice(0, 5), "ws://");
  assert.equal(session.state, "open");
  const frames = session.messages();
  const seen = [];
  session.on("message", (frame) => seen.push(frame));
  assert.deepEqual((await frames.next()).value, { hello: { token: "t1", session_type: "echo" } });
  session.send({ action: "echo", n: 1 });
  session.send({ action: "echo", n: 2 });
  assert.deepEqual((await frames.next()).value, { n: 1 });
  assert.deepEqual((await frames.next()).value, { n: 2 });
  assert.deepEqual(seen, [{ hello: { token: "t1", session_type: "echo" } }, { n: 1 }, { n: 2 }]);
  assert.throws(() => session.send("echo"), TypeError);
  assert.throws(() => session.send({ n: 1 }), TypeError);
  const closed = await bounded(session.close(), "close");
  assert.equal(closed.code, 1000);
  assert.equal(session.state, "closed");
  assert.deepEqual(await frames.next(), { value: undefined, done: true });
  assert.throws(
    () => session.send({ action: "echo", n: 3 }),
    (error) => error instanceof SkickError && error.code === "not_connected",
  );
});

test("for await ends when the server ends the session (1000: no reconnect)", async () => {
  const session = await open(URL_, "echo", {}, { reconnect: true });
  let reconnecting = false;
  session.on("reconnecting", () => (reconnecting = true));
  const received = [];
  const loop = (async () => {
    for await (const frame of session) {
      received.push(frame);
      if (frame.hello) session.send({ action: "leave" });
    }
  })();
  await bounded(loop, "the iteration");
  assert.deepEqual(received, [{ hello: { session_type: "echo" } }, { bye: true }]);
  const closed = await session.closed;
  assert.equal(closed.code, 1000);
  assert.equal(closed.reason, "session ended");
  assert.equal(reconnecting, false);
});

test("error frames surface as SkickError", async () => {
  const session = await open(URL_, "echo");
  const error = next(session, "error");
  session.send({ action: "nope" });
  const frame = await error;
  assert.ok(frame instanceof SkickError);
  assert.equal(frame.code, "unknown_action");
  assert.match(frame.detail, /nope/);
  const schema = next(session, "error");
  session.send({ action: "echo", n: "not a number" });
  assert.equal((await schema).code, "schema");
  await session.close();
});

test("queries: a handler returning a Promise, a manual reply, a bad answer", async () => {
  const asked = [];
  const session = await open(URL_, "echo", {}, {
    onQuery: async (message, schema, query) => {
      asked.push([message, schema]);
      if (message.q === "manual") return undefined; // answered below with query.reply
      await new Promise((resolve) => setTimeout(resolve, 20));
      return message.q === "bad" ? "not an int" : 42;
    },
  });
  const frames = session.messages();
  await frames.next(); // hello
  session.send({ action: "ask", q: "number?" });
  assert.deepEqual((await frames.next()).value, { answer: 42 });

  const query = next(session, "query");
  session.send({ action: "ask", q: "manual" });
  const manual = await query;
  assert.equal(manual.schema, "int");
  assert.equal(manual.reply(7), true);
  assert.deepEqual((await frames.next()).value, { answer: 7 });

  const refused = next(session, "error");
  const badQuery = next(session, "query");
  session.send({ action: "ask", q: "bad" });
  const bad = await badQuery;
  const error = await refused;
  assert.equal(error.code, "bad_query_reply");
  assert.equal(error.queryId, bad.id);
  bad.reply(5); // the query stays open after a bad answer
  assert.deepEqual((await frames.next()).value, { answer: 5 });
  assert.deepEqual(asked, [
    [{ q: "number?" }, "int"],
    [{ q: "manual" }, "int"],
    [{ q: "bad" }, "int"],
  ]);
  await session.close();
});

test("a failing query handler is reported as an error", async () => {
  const session = await open(URL_, "echo", {}, {
    onQuery: () => {
      throw new Error("no idea");
    },
  });
  const error = next(session, "error");
  session.send({ action: "ask", q: "?" });
  const reported = await error;
  assert.equal(reported.code, "query_handler");
  assert.match(reported.detail, /no idea/);
  await session.close();
});

test("a refused handshake: error, close 1008, no reconnect", async () => {
  const errors = [];
  const session = await open(URL_, "no-such-session", {}, {
    reconnect: true,
    onError: (error) => errors.push(error.code),
  });
  const closed = await bounded(session.closed, "the close");
  assert.deepEqual(closed, { code: 1008, reason: "unknown_session", wasClean: true });
  assert.deepEqual(errors, ["unknown_session"]);
  assert.equal(session.state, "closed");
});

test("reconnect with backoff after a server-side close, asking for the session again", async () => {
  let hellos = 0;
  const session = await open(URL_, "echo", () => ({ visit: ++hellos }), {
    reconnect: { initialDelay: 50, factor: 2, jitter: 0 },
  });
  const frames = session.messages();
  assert.deepEqual((await frames.next()).value, { hello: { visit: 1, session_type: "echo" } });
  const close = next(session, "close");
  const reconnecting = next(session, "reconnecting");
  const reopened = next(session, "open");
  session.send({ action: "crash" }); // the session raises: the server closes with 1011
  assert.deepEqual(await close, {
    code: 1011,
    reason: "session crashed",
    wasClean: true,
    willReconnect: true,
    delay: 50,
  });
  assert.deepEqual(await reconnecting, {
    attempt: 1,
    delay: 50,
    code: 1011,
    reason: "session crashed",
  });
  assert.deepEqual(await reopened, { reconnected: true, attempt: 1 });
  assert.equal(session.state, "open");
  assert.deepEqual((await frames.next()).value, { hello: { visit: 2, session_type: "echo" } });
  session.send({ action: "echo", n: 9 });
  assert.deepEqual((await frames.next()).value, { n: 9 });
  // The new connection worked: the backoff starts afresh (50 ms again, not 100).
  const again = next(session, "reconnecting");
  session.send({ action: "crash" });
  assert.equal((await again).delay, 50);
  await next(session, "open");
  await session.close();
  assert.equal(hellos, 3);
});

test("reconnecting gives up after maxAttempts failed attempts", async () => {
  // "broken" fails to start: each connection gets session_failed and a 1011 close.
  const errors = [];
  const delays = [];
  const session = await open(URL_, "broken", {}, {
    reconnect: { initialDelay: 20, factor: 3, jitter: 0, maxAttempts: 2 },
    onError: (error) => errors.push(error.code),
  });
  session.on("reconnecting", ({ delay }) => delays.push(delay));
  const closed = await bounded(session.closed, "giving up");
  assert.deepEqual(closed, { code: 1011, reason: "session_failed", wasClean: true });
  assert.deepEqual(delays, [20, 60]);
  assert.deepEqual(errors, ["session_failed", "session_failed", "session_failed"]);
});

test("close() during a backoff is final", async () => {
  const session = await open(URL_, "echo", {}, {
    reconnect: { initialDelay: 10_000, jitter: 0 },
  });
  const reconnecting = next(session, "reconnecting");
  session.send({ action: "crash" });
  assert.equal((await reconnecting).delay, 10_000);
  assert.equal(session.state, "reconnecting");
  const closed = await bounded(session.close(), "close during the backoff");
  assert.equal(closed.code, 1000);
  assert.equal(session.state, "closed");
});

test("the first connection failing rejects connect()", async () => {
  await assert.rejects(
    connect(process.env.SKICK_DEAD_URL, "echo", {}, { reconnect: true }),
    (error) => error instanceof SkickError && error.code === "connect_failed",
  );
});
