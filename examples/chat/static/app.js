// The chat page: joins the "chat" session with skick.js, served by the same server.
//
// The name travels in the handshake ({"session_type": "chat", "name": …}), so the
// server joins the room at once, and a reconnection (after the server closed the
// connection, or the network dropped it) rejoins by itself. Polls are server
// queries: onQuery returns a Promise that the Yes/No buttons resolve.

import { connect, SkickError } from "/skick.js";

const $ = (selector) => document.querySelector(selector);
const log = $("#log");
const status = $("#status");

/** @type {import("/skick.js").Session | null} */
let session = null;

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

function add(className, ...parts) {
  const item = document.createElement("li");
  item.className = className;
  for (const part of parts) {
    item.append(part);
  }
  log.append(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

function bold(text) {
  const b = document.createElement("b");
  b.textContent = text;
  return b;
}

function show(frame) {
  switch (frame.event) {
    case "joined":
      add("info", `${frame.name} joined`);
      $("#members").textContent = `In the room: ${frame.members.join(", ")}`;
      break;
    case "left":
      add("info", `${frame.name} left`);
      break;
    case "said": {
      const item = add("said", bold(frame.name), `: ${frame.text}`);
      item.dataset.name = frame.name;
      break;
    }
    case "members":
      $("#members").textContent = `In the room: ${frame.members.join(", ")}`;
      add("info", `members: ${frame.members.join(", ")}`);
      break;
    case "poll":
      add("info", `${frame.by} asks everyone: ${frame.question}`);
      break;
    case "votes": {
      let item = log.querySelector(`li.votes[data-poll="${frame.poll}"]`);
      if (item === null) {
        item = add("votes info");
        item.dataset.poll = frame.poll;
      }
      const names = (list) => (list.length ? list.join(", ") : "nobody");
      item.textContent = `${frame.question} yes: ${names(frame.yes)}; no: ${names(frame.no)}`;
      break;
    }
    case "error":
      add("error", frame.text);
      break;
    default:
      add("info", JSON.stringify(frame));
  }
}

/** A poll card whose buttons resolve the answer to the server's query. */
function askPoll(question) {
  return new Promise((resolve) => {
    const item = add("poll", bold(question.by), ` asks: ${question.question} `);
    item.dataset.poll = question.poll;
    for (const value of [true, false]) {
      const label = value ? "Yes" : "No";
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.dataset.answer = value ? "yes" : "no";
      button.addEventListener("click", () => {
        for (const b of item.querySelectorAll("button")) b.disabled = true;
        item.append(` — you answered ${label.toLowerCase()}`);
        item.classList.add("answered");
        resolve(value);
      });
      item.append(button);
    }
  });
}

async function join(name) {
  setStatus("connecting", "connecting…");
  try {
    session = await connect("/", "chat", { name }, {
      reconnect: { initialDelay: 300, maxDelay: 5000 },
      onQuery: (message, schema) => (schema === "bool" ? askPoll(message) : undefined),
      onError: (error) => add("error", `${error.code}: ${error.detail}`),
      onOpen: ({ reconnected }) => {
        setStatus("open", `connected as ${name}`);
        if (reconnected) {
          document.body.dataset.reconnects = String(Number(document.body.dataset.reconnects ?? 0) + 1);
          add("info", "reconnected");
        }
      },
      onClose: ({ code, reason, willReconnect, delay }) => {
        const why = reason ? `${code} ${reason}` : `${code}`;
        if (willReconnect) {
          setStatus("reconnecting", `reconnecting in ${(delay / 1000).toFixed(1)} s…`);
          add("info", `connection closed (${why}); reconnecting`);
        } else {
          setStatus("closed", `disconnected (${why})`);
          add("error", `disconnected (${why})`);
        }
      },
    });
  } catch (error) {
    setStatus("closed", "could not connect");
    add("error", error instanceof SkickError ? error.detail : String(error));
    return;
  }
  session.on("reconnecting", ({ attempt, delay }) => {
    setStatus("reconnecting", `reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${attempt})…`);
  });
  setStatus("open", `connected as ${name}`);
  $("#join").hidden = true;
  $("#room").hidden = false;
  $("#text").focus();
  for await (const frame of session) {
    show(frame);
  }
}

function send(text) {
  if (session === null) return;
  let message;
  if (text === "/who") {
    message = { action: "who" };
  } else if (text.startsWith("/poll ")) {
    message = { action: "poll", question: text.slice(6).trim() };
  } else {
    message = { action: "say", text };
  }
  try {
    session.send(message);
  } catch (error) {
    add("error", error instanceof SkickError ? `not sent: ${error.detail}` : String(error));
  }
}

$("#join").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("#name").value.trim();
  if (name) join(name);
});

$("#say").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("#text");
  const text = input.value.trim();
  if (text) send(text);
  input.value = "";
});
