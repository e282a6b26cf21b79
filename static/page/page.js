// The live test page: lists kept current by realtime.js, forms that write over REST,
// an event log, stats and ping. Everything the page shows comes from the protocol.
import { LiveSocket, applyEvent, cookie, fetchSnapshot, tabClientId } from "../broadcasting/realtime.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const me = config.user;
// Channels with no section of their own: how to title an object, who owns it, whether REST serves it.
const info = config.channel_info;
const clientId = tabClientId();
const state = { users: [], posts: [] };
const channels = {};
// The REST list filters each channel follows: the same parameters for the snapshot and the socket.
const filters = { users: {}, posts: {} };
const LOG_LIMIT = 200;

const $ = (selector, root = document) => root.querySelector(selector);
document.querySelector("[data-testid=client-id]").textContent = clientId;

// --- Channels: one socket on /ws/, one subscription per channel ----------------------

const live = new LiveSocket({
  clientId,
  restartWindowSecs: config.restart_window_secs,
  onMessage: (frame) => logFrame(frame.channel, frame),
}).open();

function connectChannel(name) {
  if (channels[name]) return;
  filters[name] ??= {};
  state[name] ??= [];
  const load = async () => {
    const snapshot = await fetchSnapshot(`/api/${name}/?${new URLSearchParams(filters[name])}`);
    state[name] = snapshot.items;
    render(name);
    return snapshot;
  };
  channels[name] = live.subscribe(name, {
    filter: filters[name],
    load: info[name]?.rest === false ? undefined : load, // no REST list: events from now on
    onEvent: (event) => {
      applyInOrder(name, event);
      render(name, event.type === "deleted" ? null : event.data.id);
      showLatency(name, event);
    },
    onStatus: (status, detail) => showStatus(name, status, detail),
    presence: { onChange: (here) => showPresence(name, here), refreshSecs: 5 },
  });
}

// Who is here: the signed-in users on the channel (each once, however many tabs), as
// REST shows them to us, and how many anonymous sockets.
function showPresence(name, here) {
  const people = here.users.map((user) => (user.id === me.id ? "you" : user.name || `user #${user.id}`));
  if (here.userCount > here.users.length) people.push(`${here.userCount - here.users.length} more`);
  if (here.anonymous) people.push(`${here.anonymous} anonymous`);
  $(`[data-testid=presence-${name}]`).textContent = `here: ${people.join(", ") || "nobody"}`;
}

// Apply an event (or a write's response) to a channel's list, in the order a reload shows it.
function applyInOrder(name, event) {
  state[name] = applyEvent(state[name], event, { order: config.ordering[name] });
}

function disconnectChannel(name) {
  channels[name]?.unsubscribe();
  delete channels[name];
  $(`[data-testid=presence-${name}]`).textContent = "not subscribed";
}

function showStatus(name, status, detail) {
  const badge = $(`[data-testid=badge-${name}]`);
  badge.dataset.status = status;
  let text = status;
  if (status === "closed" && detail.code) text = `closed ${detail.code}${detail.reason ? `: ${detail.reason}` : ""}`;
  if (status === "reconnecting" && detail.delayMs !== undefined) text = `reconnecting (#${detail.attempt})`;
  badge.textContent = text;
  if (status === "closed" && FORBIDDEN_CODES.has(detail.code)) {
    state[name] = [];
    render(name, null, `Not shown to you: ${detail.reason || `closed ${detail.code}`}.`);
  }
}

// A channel this user may not read: its card says why instead of standing empty.
const FORBIDDEN_CODES = new Set([401, 403, 4401, 4403]);

for (const item of document.querySelectorAll(".channels li")) {
  const name = item.dataset.channel;
  $("[data-action=connect]", item).addEventListener("click", () => connectChannel(name));
  $("[data-action=disconnect]", item).addEventListener("click", () => disconnectChannel(name));
}

// --- What this user may do (the API decides; the page only offers what it allows) ---

const may = {
  posts: {
    create: me.authenticated,
    edit: (post) => me.is_staff || post.author === me.id,
    remove: (post) => me.is_staff || post.author === me.id,
  },
  users: {
    create: me.can_add_user,
    edit: (user) => user.id === me.id || me.can_change_user,
    remove: (user) => user.id !== me.id && me.can_delete_user,
  },
};

const EMPTY = {
  posts: "No posts here yet.",
  users: "No users yet.",
};

// --- The posts filter: the list and its socket follow the same REST filter ----------

$("#posts-filter").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const form = submitted.target;
  const chosen = { author: form.author.value, published: form.published.value };
  filters.posts = Object.fromEntries(Object.entries(chosen).filter(([, value]) => value !== ""));
  const active = new URLSearchParams(filters.posts).toString();
  $("[data-role=active]", form).textContent = active ? `/ws/posts?${active}` : "all posts";
  disconnectChannel("posts");
  state.posts = [];
  render("posts");
  connectChannel("posts");
});

// Whether an object this page wrote is in the set its list follows (the page's own filters).
function inFilter(name, item) {
  return Object.entries(filters[name]).every(([field, value]) => String(item[field]) === String(value));
}

// --- Lists ------------------------------------------------------------------------

const describe = {
  posts: (post) => `${post.title}${post.published ? "" : " (draft)"} · ${post.author_name}`,
  users: (user) => `${user.name || "(no name)"}${user.email ? ` · ${user.email}` : ""}`,
};

// Any other live channel: its objects by their first text field and owner; its owner and staff may delete.
for (const [name, { title, owner, rest }] of Object.entries(info)) {
  describe[name] = (item) => `${item[title] ?? `#${item.id}`}${owner ? ` · user #${item[owner]}` : ""}`;
  const mine = (item) => rest && me.authenticated && (me.is_staff || (owner !== null && item[owner] === me.id));
  may[name] = { create: false, edit: (item) => mine(item) && title !== "id", remove: mine };
  EMPTY[name] = "Nothing here yet.";
}

// Render a list; the row of `changedId` (an event's object) lights up for a moment.
function render(name, changedId = null, why = null) {
  const list = $(`#${name}-list`);
  if (state[name].length === 0) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.dataset.testid = `${name}-empty`;
    empty.textContent = why ?? EMPTY[name];
    list.replaceChildren(empty);
    return;
  }
  list.replaceChildren(
    ...state[name].map((item) => {
      const row = document.createElement("li");
      row.dataset.id = item.id;
      if (item.id === changedId) row.classList.add("changed");
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = describe[name](item);
      const actions = document.createElement("span");
      actions.className = "actions";
      if (may[name].edit(item)) actions.append(button("Edit", () => startEdit(name, item)));
      if (may[name].remove(item)) actions.append(button("Delete", () => remove(name, item.id)));
      row.append(label, actions);
      return row;
    }),
  );
}

function button(text, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.addEventListener("click", onClick);
  return element;
}

// --- Writes over REST -------------------------------------------------------------

async function api(method, url, body) {
  const headers = { "Content-Type": "application/json", "X-CSRFToken": cookie("csrftoken") ?? "" };
  if ($("#send-client-id").checked) headers["X-Client-ID"] = clientId;
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw Object.assign(new Error(formatError(response.status, data)), { status: response.status });
  return data;
}

function formatError(status, data) {
  if (!data) return `Request failed (${status}).`;
  if (typeof data.detail === "string") return data.detail;
  return Object.entries(data)
    .map(([field, messages]) => `${field}: ${[].concat(messages).join(" ")}`)
    .join("\n");
}

const forms = {
  posts: {
    form: $("#post-form"),
    noun: "post",
    read: (form) => ({ title: form.title.value, body: form.body.value, published: form.published.checked }),
    fill: (form, post) => {
      form.title.value = post.title;
      form.body.value = post.body;
      form.published.checked = post.published;
    },
  },
  users: {
    form: $("#user-form"),
    noun: "user",
    read: (form) => {
      const values = { email: form.email.value, name: form.name.value };
      if (form.password.value) values.password = form.password.value;
      if (form.password.value && !form.current_password.hidden) values.current_password = form.current_password.value;
      return values;
    },
    fill: (form, user) => {
      form.email.value = user.email ?? "";
      form.name.value = user.name;
      form.password.placeholder = "New password (optional)";
      form.current_password.hidden = user.id !== me.id; // changing your own password needs the current one
    },
  },
};

function setError(name, message) {
  $("[data-role=error]", forms[name]?.form ?? $(`#${name}-card`)).textContent = message;
}

// A channel with no form of its own: edit its title field in a prompt, save it over REST.
async function editInPrompt(name, item) {
  const field = info[name].title;
  const value = window.prompt(`${field} of #${item.id}`, item[field] ?? "");
  if (value === null) return;
  try {
    const saved = await api("PATCH", `/api/${name}/${item.id}/`, { [field]: value });
    applyInOrder(name, { type: "updated", data: saved });
    render(name, saved.id);
    setError(name, "");
  } catch (error) {
    setError(name, error.message);
  }
}

function startEdit(name, item) {
  if (!forms[name]) return editInPrompt(name, item);
  const { form, fill, noun } = forms[name];
  form.hidden = false;
  form.id.value = item.id;
  fill(form, item);
  $("[data-role=submit]", form).textContent = `Save ${noun}`;
  $("[data-role=cancel]", form).hidden = false;
  setError(name, "");
}

function endEdit(name) {
  const { form, noun } = forms[name];
  form.reset();
  form.id.value = "";
  form.hidden = !may[name].create;
  if (name === "users") {
    form.password.placeholder = "Password (to sign in with)";
    form.current_password.hidden = true;
  }
  $("[data-role=submit]", form).textContent = `Create ${noun}`;
  $("[data-role=cancel]", form).hidden = true;
}

async function remove(name, id) {
  try {
    await api("DELETE", `/api/${name}/${id}/`);
    state[name] = state[name].filter((item) => item.id !== id);
    render(name);
    setError(name, "");
  } catch (error) {
    setError(name, error.message);
  }
}

for (const [name, { form, read }] of Object.entries(forms)) {
  form.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    const id = form.id.value;
    try {
      const saved = id
        ? await api("PATCH", `/api/${name}/${id}/`, read(form))
        : await api("POST", `/api/${name}/`, read(form));
      // Our own socket skips this write's event (X-Client-ID); apply the response instead,
      // as the filtered socket would have: in the set, or out of it.
      const inSet = inFilter(name, saved);
      applyInOrder(name, { type: inSet ? (id ? "updated" : "created") : "deleted", data: saved });
      render(name, saved.id);
      endEdit(name);
      setError(name, "");
    } catch (error) {
      setError(name, error.message);
    }
  });
  $("[data-role=cancel]", form).addEventListener("click", () => endEdit(name));
}

// --- Log, stats and ping ----------------------------------------------------------

const latencyCells = new Map(); // "<channel>:<seq>" -> the log cell waiting for that event's latency

function logFrame(channel, frame) {
  const entry = document.createElement("li");
  entry.dataset.type = frame.type;
  const meta = document.createElement("div");
  meta.className = "meta";
  const time = frame.timestamp ? new Date(frame.timestamp) : new Date();
  meta.innerHTML = "<strong></strong><span></span><span></span><span class=muted></span><span data-role=latency></span>";
  const [type, seq, where, when, latency] = meta.children;
  if (frame.seq !== undefined && frame.timestamp) {
    latencyCells.set(`${channel}:${frame.seq}`, latency);
    if (latencyCells.size > LOG_LIMIT) latencyCells.delete(latencyCells.keys().next().value);
  }
  type.textContent = frame.type;
  seq.textContent = frame.seq === undefined ? "" : `seq ${frame.seq}`;
  where.textContent = channel ? `/ws/ · ${channel}` : "/ws/";
  when.textContent = time.toLocaleTimeString();
  const body = document.createElement("pre");
  body.textContent = JSON.stringify(frame, null, 2);
  entry.append(meta, body);
  const log = $("#event-log");
  log.prepend(entry);
  while (log.children.length > LOG_LIMIT) log.lastElementChild.remove();
}

// Once an event is on screen: how long since it was saved (its timestamp, taken in the
// writer's transaction). Server and browser clocks are compared, so on another host this
// includes their difference.
function showLatency(channel, event) {
  const cell = latencyCells.get(`${channel}:${event.seq}`);
  if (!cell || !event.timestamp) return;
  latencyCells.delete(`${channel}:${event.seq}`);
  cell.textContent = `${Math.max(0, Date.now() - Date.parse(event.timestamp))} ms`;
}

$("#clear-log").addEventListener("click", () => $("#event-log").replaceChildren());

$("#ping").addEventListener("click", async () => {
  const output = $("[data-testid=ping-result]");
  if (live.status !== "live") {
    output.textContent = "not connected";
    return;
  }
  output.textContent = `pong in ${await live.ping()} ms`;
});

$("#socket-stats").addEventListener("click", async () => {
  $("[data-testid=stats-output]").textContent =
    live.status === "live" ? JSON.stringify(await live.stats(), null, 2) : "not connected";
});

$("#http-stats").addEventListener("click", async () => {
  const response = await fetch("/ws/stats", { credentials: "same-origin" });
  $("[data-testid=stats-output]").textContent = JSON.stringify(await response.json(), null, 2);
});

// --- Start ------------------------------------------------------------------------

for (const name of Object.keys(forms)) endEdit(name);
$("[data-testid=posts-note]").hidden = may.posts.create;
const usersNote = $("[data-testid=users-note]");
if (me.authenticated && !may.users.create) {
  usersNote.textContent = "You can edit your own account; managing others takes the admin's user permissions.";
  usersNote.hidden = false;
}

for (const name of config.channels) {
  if (name === "users" && !config.user.authenticated) {
    showStatus(name, "closed", { code: 4401, reason: "sign in to see users" });
    continue;
  }
  connectChannel(name);
}
