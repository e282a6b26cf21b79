/**
 * realtime.js: the browser client of realtime_site's live channels (docs/protocol.md).
 *
 * An ES module with no dependencies. One LiveChannel is one socket on /ws/<channel>
 * (LiveSocket, below, carries many channels on one socket on /ws/) that never misses an event: it resumes with ?since= after every reconnect, checks
 * that seqs never jump, reconnects with jittered exponential backoff (first retry
 * within 1 s, capped at 30 s), pings to notice a dead connection, and refetches when
 * the server says `reset`. An event too large for one frame arrives as
 * `{"data": {"id": …}, "truncated": true}`: the client fetches that object over REST
 * (options.objectUrl) and hands onEvent the whole object, still in seq order.
 *
 *   import { connect, fetchSnapshot, applyEvent } from "/static/broadcasting/realtime.js";
 *
 *   let posts = [];
 *   const channel = connect("posts", {
 *     load: async () => {                       // initial load, and again after `reset`
 *       const snapshot = await fetchSnapshot("/api/posts/");
 *       posts = snapshot.items;
 *       return snapshot;                        // {seq, epoch}: where to subscribe from
 *     },
 *     onEvent: (event) => { posts = applyEvent(posts, event); render(posts); },
 *     onStatus: (status, detail) => console.log(status, detail),
 *   });
 */

/** The protocol version this client speaks (docs/protocol.md); package.json's major.minor. */
export const PROTOCOL_VERSION = "1.2";

const PERMANENT_CLOSE_CODES = new Set([4400, 4401, 4403, 4404]);
// The server is restarting (a deploy): every client of it hears this at once.
const RESTART_CLOSE_CODE = 1012;
const MODEL_EVENTS = new Set(["created", "updated", "deleted"]);

/** A client id for this browser tab: kept across reloads of the tab, new in each tab. */
export function tabClientId(storage = globalThis.sessionStorage) {
  const key = "realtime.clientId";
  let id = storage?.getItem(key);
  if (!id) {
    id = `tab-${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`;
    storage?.setItem(key, id);
  }
  return id;
}

/** The value of a cookie (the CSRF token for session-authenticated writes). */
export function cookie(name) {
  const match = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : null;
}

/**
 * GET a whole list as one snapshot: every page, following the list's `next` links.
 * Returns {items, seq, epoch, pages}: subscribing with since=seq&epoch=epoch then
 * delivers exactly the changes the items do not hold. Pages read while the channel
 * moved (another seq on a later page) could skip an object, so the read starts over, at
 * most `attempts` times; past `maxPages` pages it stops with an error rather than hold
 * an endless list (narrow it with a filter). Either error has `error.code`.
 */
export async function fetchSnapshot(url, { headers = {}, pageSize = 1000, maxPages = 100, attempts = 3 } = {}) {
  const first = new URL(url, location.href);
  first.searchParams.set("page_size", String(pageSize));
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const head = await fetchPage(first, headers);
    let items = head.items;
    let next = head.next;
    let pages = 1;
    let moved = false;
    while (next) {
      if (pages >= maxPages) {
        throw snapshotError(
          "too_many_pages",
          `GET ${url}: more than ${maxPages} pages of ${pageSize}; narrow the list with a filter or raise maxPages`,
        );
      }
      const page = await fetchPage(new URL(next, location.href), headers);
      if (page.seq !== head.seq || page.epoch !== head.epoch) {
        moved = true;
        break;
      }
      items = items.concat(page.items);
      next = page.next;
      pages += 1;
    }
    if (!moved) return { items, seq: head.seq, epoch: head.epoch, pages };
  }
  throw snapshotError("kept_changing", `GET ${url}: the list changed while its pages were read, ${attempts} times`);
}

async function fetchPage(url, headers) {
  const response = await fetch(url, { credentials: "same-origin", headers });
  if (!response.ok) {
    const error = new Error(`GET ${url.pathname}${url.search} failed: ${response.status}`);
    error.status = response.status;
    throw error;
  }
  const body = await response.json();
  return {
    items: Array.isArray(body) ? body : body.results,
    next: Array.isArray(body) ? null : body.next,
    seq: Number(response.headers.get("X-Channel-Seq")),
    epoch: response.headers.get("X-Channel-Epoch"),
  };
}

function snapshotError(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

/**
 * A comparator for a list ordered by `fields`, written as the REST API's `ordering`:
 * "-created_at,-id" or ["-created_at", "-id"] (a leading "-" is descending).
 */
export function byFields(fields) {
  const keys = (Array.isArray(fields) ? fields : String(fields).split(","))
    .map((field) => field.trim())
    .filter(Boolean)
    .map((field) => (field.startsWith("-") ? [field.slice(1), -1] : [field, 1]));
  return (a, b) => {
    for (const [name, direction] of keys) {
      if (a[name] === b[name]) continue;
      if (a[name] === undefined || a[name] === null) return direction;
      if (b[name] === undefined || b[name] === null) return -direction;
      return a[name] < b[name] ? -direction : direction;
    }
    return 0;
  };
}

/**
 * Apply a created/updated/deleted event to a list of objects keyed by id; returns a new
 * list. With `order` (the list's ordering, as for byFields, or a comparator), a created
 * or updated object takes its place in that order, as a reload would show it: the REST
 * lists are newest first (posts "-created_at,-id"), users by "id". Without it, a new
 * object goes at the end and a changed one stays where it is.
 */
export function applyEvent(items, event, { order = null } = {}) {
  if (!MODEL_EVENTS.has(event.type)) return items;
  const id = event.data.id;
  if (event.type === "deleted") return items.filter((item) => item.id !== id);
  if (order == null) {
    const index = items.findIndex((item) => item.id === id);
    if (index === -1) return [...items, event.data];
    const copy = items.slice();
    copy[index] = event.data;
    return copy;
  }
  const compare = typeof order === "function" ? order : byFields(order);
  const rest = items.filter((item) => item.id !== id);
  const at = rest.findIndex((item) => compare(event.data, item) < 0);
  rest.splice(at === -1 ? rest.length : at, 0, event.data);
  return rest;
}

/** Open a live channel; see LiveChannel for the options. */
export function connect(channel, options = {}) {
  return new LiveChannel(channel, options).open();
}

/**
 * Load `holder`'s snapshot (its `load` option) when it has no position yet: the
 * snapshot's {seq, epoch} become where it subscribes from. A LiveChannel and each
 * Subscription of a LiveSocket do this on their first (re)connect and after `reset`.
 */
async function loadUnlessPlaced(holder) {
  if (!holder.load || holder.lastSeq !== null) return;
  const position = await holder.load();
  holder.lastSeq = position.seq;
  holder.epoch = position.epoch;
}

/**
 * Apply one `reset`, `sync` or seq-carrying frame of a channel to `holder` (a
 * LiveChannel or a Subscription), keeping its lastSeq exact. `resume()` is how the
 * holder starts over from lastSeq: after a loss, or after a `reset` when it has a
 * `load` to refetch with (lastSeq is then cleared, so the snapshot is loaded first).
 */
function applyChannelFrame(holder, frame, resume) {
  switch (frame.type) {
    case "reset":
      if (holder.load) {
        holder.lastSeq = null; // reload, then resume from the fresh snapshot
        resume("reset");
      } else {
        holder.lastSeq = frame.seq;
        holder.epoch = frame.epoch ?? holder.epoch;
        holder.onEvent(frame);
      }
      return;
    case "sync":
      // Everything up to this seq that is for us has been sent: a skipped event, an
      // idle heartbeat, or (filtered sockets) the stretch skipped before the next frame.
      if (frame.seq > holder.lastSeq) holder.lastSeq = frame.seq;
      return;
    default:
      break;
  }
  if (typeof frame.seq !== "number") return;
  if (frame.seq <= holder.lastSeq) return; // a duplicate: already applied
  if (frame.seq > holder.lastSeq + 1) {
    resume("gap"); // a loss: resume from the last applied seq
    return;
  }
  holder.lastSeq = frame.seq;
  holder.delivery.deliver(frame);
}

/**
 * Hands events to `owner.onEvent` in seq order: at once, or, behind an event too large
 * for one frame (`truncated: true`), after that object is fetched over REST
 * (`owner.objectUrl(event)`, with `owner.fetchHeaders`). Gone (404) means deleted since:
 * that event is delivered as `deleted`; any other failure delivers it as it came.
 */
class OrderedDelivery {
  constructor(owner) {
    this.owner = owner;
    this.delivering = null; // the chain of events waiting behind a refetch, if any
  }

  deliver(frame) {
    const truncated = frame.truncated === true && (frame.type === "created" || frame.type === "updated");
    if (!truncated && !this.delivering) {
      this.owner.onEvent(frame);
      return;
    }
    const step = (this.delivering ?? Promise.resolve()).then(async () =>
      this.owner.onEvent(truncated ? await this.#refetch(frame) : frame),
    );
    this.delivering = step;
    step.finally(() => {
      if (this.delivering === step) this.delivering = null;
    });
  }

  async #refetch(frame) {
    try {
      const response = await fetch(new URL(this.owner.objectUrl(frame), location.href), {
        credentials: "same-origin",
        headers: this.owner.fetchHeaders,
      });
      const { truncated, ...whole } = frame;
      if (response.status === 404) return { ...whole, type: "deleted", data: { id: frame.data.id } };
      if (!response.ok) return frame;
      return { ...whole, data: await response.json() };
    } catch {
      return frame;
    }
  }
}

/**
 * Presence: who is on a channel (docs/protocol.md, "Presence"). A LiveChannel or a
 * Subscription made with the `presence` option keeps one: it asks `get_presence` each
 * time it is (re)subscribed and every `refreshSecs` (anonymous sockets are only
 * counted, so only a fresh answer updates their count), and applies the `join` and
 * `leave` frames in between.
 *
 *   const posts = connect("posts", {
 *     load, onEvent,
 *     presence: {
 *       onChange: ({ users, userCount, anonymous }) => renderWhoIsHere(users, anonymous),
 *       onJoin: (user) => toast(`${user.name} is here`),
 *       onLeave: (user) => toast(`${user.name} left`),
 *     },
 *   });
 *   posts.presence.state   // {users: [...], userCount, anonymous}
 */
export class Presence {
  constructor(options, ask) {
    const settings = options === true ? {} : options;
    this.onChange = settings.onChange ?? (() => {});
    this.onJoin = settings.onJoin ?? (() => {});
    this.onLeave = settings.onLeave ?? (() => {});
    this.refreshMs = (settings.refreshSecs ?? 30) * 1000;
    this.ask = ask;
    this.users = new Map(); // id -> the user as REST shows them to us
    this.userCount = 0;
    this.anonymous = 0;
    this.known = false; // true once an answer has come
    this.timer = null;
  }

  /** {users, userCount, anonymous}: the signed-in users here (each once) and the anonymous sockets. */
  get state() {
    return { users: [...this.users.values()], userCount: this.userCount, anonymous: this.anonymous };
  }

  start() {
    this.stop();
    this.ask();
    this.timer = setInterval(() => this.ask(), this.refreshMs);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  receive(frame) {
    switch (frame.type) {
      case "presence":
        this.users = new Map(frame.data.users.map((user) => [user.id, user]));
        this.userCount = frame.data.user_count;
        this.anonymous = frame.data.anonymous;
        this.known = true;
        break;
      case "join": {
        const user = frame.data.user;
        if (!this.users.has(user.id)) this.userCount += 1;
        this.users.set(user.id, user);
        this.onJoin(user);
        break;
      }
      case "leave": {
        const user = this.users.get(frame.data.user.id) ?? frame.data.user;
        if (this.users.delete(user.id)) this.userCount = Math.max(0, this.userCount - 1);
        this.onLeave(user);
        break;
      }
      default:
        return;
    }
    this.onChange(this.state);
  }
}

/**
 * What LiveChannel and LiveSocket share: one WebSocket that reconnects with jittered
 * exponential backoff (first retry within 1 s, capped at maxBackoffSecs; after a 1012,
 * a server restarting, within restartWindowSecs, so a deploy's clients do not all
 * come back in the same second), pings after
 * heartbeatSecs of silence and declares the connection dead heartbeatTimeoutSecs after
 * an unanswered ping, answers ping()/stats(), and stops on a permanent close (4400,
 * 4401, 4403, 4404). Subclasses say where to connect (_start) and what frames mean
 * (_frame), and hear of drops (_dropped).
 */
class ReconnectingSocket {
  constructor(options) {
    this.clientId = options.clientId ?? tabClientId();
    this.onMessage = options.onMessage ?? (() => {});
    this.onStatus = options.onStatus ?? (() => {});
    this.heartbeatMs = (options.heartbeatSecs ?? 25) * 1000;
    this.heartbeatTimeoutMs = (options.heartbeatTimeoutSecs ?? 10) * 1000;
    this.maxBackoffMs = (options.maxBackoffSecs ?? 30) * 1000;
    this.restartWindowMs = (options.restartWindowSecs ?? 5) * 1000;
    this.status = "closed";
    this.socket = null;
    this.attempt = 0;
    this.stopped = false;
    this.pending = { pong: [], stats: [] };
    this.timers = { retry: null, heartbeat: null, deadline: null };
  }

  /** Start (connect() does it for LiveChannel). */
  open() {
    this.stopped = false;
    this._start();
    return this;
  }

  /** Close for good: no reconnect. */
  close() {
    this.stopped = true;
    this._clearTimers();
    if (this.socket) this.socket.close(1000, "client closed");
    this._setStatus("closed", { code: 1000, reason: "client closed" });
  }

  /** Round-trip time of a ping, in milliseconds. */
  ping() {
    const sentAt = performance.now();
    return this._request("pong", { type: "ping" }).then(() => Math.round(performance.now() - sentAt));
  }

  /** The server's socket counts (the `stats` frame's data). */
  stats() {
    return this._request("stats", { type: "get_stats" }).then((frame) => frame.data);
  }

  /** Send a frame if the socket is open; false if it is not. */
  send(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  _connect(url) {
    url.searchParams.set("client_id", this.clientId);
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onmessage = (message) => this._receive(socket, message);
    socket.onclose = (closed) => this._closed(socket, closed);
  }

  _receive(socket, message) {
    if (socket !== this.socket) return;
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    this._armHeartbeat();
    this.onMessage(frame);
    switch (frame.type) {
      case "pong":
      case "stats":
        this.pending[frame.type].shift()?.resolve(frame);
        return;
      default:
        this._frame(frame);
    }
  }

  _closed(socket, closed) {
    if (socket !== this.socket) return;
    this.socket = null;
    this._clearTimers();
    for (const waiters of Object.values(this.pending)) {
      while (waiters.length) waiters.shift().reject(new Error("connection closed"));
    }
    const detail = { code: closed.code, reason: closed.reason };
    if (this.stopped) return;
    const permanent = PERMANENT_CLOSE_CODES.has(closed.code);
    this._dropped(detail, permanent);
    if (permanent) {
      this.stopped = true;
      this._setStatus("closed", detail);
      return;
    }
    this._scheduleReconnect(detail);
  }

  _scheduleReconnect(detail) {
    // Full jitter: a random delay up to 1 s, 2 s, 4 s, ... capped at maxBackoffMs; the
    // first after a restart is spread over the whole restart window.
    const restarting = detail.code === RESTART_CLOSE_CODE && this.attempt === 0;
    const ceiling = restarting ? this.restartWindowMs : Math.min(this.maxBackoffMs, 1000 * 2 ** this.attempt);
    const delayMs = Math.floor(Math.random() * ceiling);
    this.attempt += 1;
    this._setStatus("reconnecting", { ...detail, attempt: this.attempt, delayMs });
    this.timers.retry = setTimeout(() => this._start(), delayMs);
  }

  _armHeartbeat() {
    clearTimeout(this.timers.heartbeat);
    clearTimeout(this.timers.deadline);
    this.timers.heartbeat = setTimeout(() => {
      this.send({ type: "ping" });
      this.timers.deadline = setTimeout(() => {
        // No answer: the connection is dead even if the browser has not noticed.
        const socket = this.socket;
        if (socket) socket.close(4000, "heartbeat timeout");
        this._closed(socket, { code: 4000, reason: "heartbeat timeout" });
      }, this.heartbeatTimeoutMs);
    }, this.heartbeatMs);
  }

  _request(kind, frame) {
    return new Promise((resolve, reject) => {
      if (!this.send(frame)) {
        reject(new Error("not connected"));
        return;
      }
      this.pending[kind].push({ resolve, reject });
    });
  }

  _clearTimers() {
    for (const name of Object.keys(this.timers)) {
      clearTimeout(this.timers[name]);
      this.timers[name] = null;
    }
  }

  _setStatus(status, detail = {}) {
    this.status = status;
    this.onStatus(status, detail);
  }

  _dropped(detail, permanent) {}
}

export class LiveChannel extends ReconnectingSocket {
  /**
   * @param {string} channel  a registered channel: "users", "posts", ...
   * @param {object} options
   *   clientId            this client's id (default: one per tab); REST writes sent with
   *                       header X-Client-ID: clientId are not echoed back to it
   *   load                async () => ({seq, epoch}): (re)load the data, say where to resume
   *   onEvent(event)      created/updated/deleted and custom events, in seq order, once each
   *   onMessage(frame)    every frame received, for logs
   *   onStatus(status, detail)  "connecting" | "live" | "reconnecting" | "closed"
   *   url                 the socket URL (default ws(s)://<this host>/ws/<channel>;
   *                       ws(s)://<this host>/ws/<channel>/<pk> follows one object)
   *   filter              the channel's REST list filters, e.g. {author: "3", published: "true"}:
   *                       the socket then gets the events of that filtered set only
   *   presence            true, or {onChange, onJoin, onLeave, refreshSecs}: keep
   *                       `this.presence` (a Presence) of who is on the channel
   *   heartbeatSecs       ping after this long without a frame (default 25)
   *   heartbeatTimeoutSecs  declare the connection dead this long after an unanswered ping (default 10)
   *   maxBackoffSecs      cap of the reconnect delay (default 30)
   *   restartWindowSecs   after a 1012 (the server restarting), the first reconnect
   *                       comes at a random moment within this (default 5)
   *   objectUrl(event)    where to GET the object of a truncated event
   *                       (default /api/<channel>/<id>/)
   *   fetchHeaders        headers for that GET (say, Authorization for token clients)
   */
  constructor(channel, options = {}) {
    super(options);
    this.channel = channel;
    this.load = options.load ?? null;
    this.onEvent = options.onEvent ?? (() => {});
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.url = options.url ?? `${scheme}://${location.host}/ws/${channel}`;
    this.filter = options.filter ?? {};
    this.objectUrl = options.objectUrl ?? ((event) => `/api/${channel}/${encodeURIComponent(event.data.id)}/`);
    this.fetchHeaders = options.fetchHeaders ?? {};
    this.delivery = new OrderedDelivery(this);
    this.lastSeq = null; // the last seq applied; null until the first connection
    this.epoch = null;
    this.presence = options.presence ? new Presence(options.presence, () => this.send({ type: "get_presence" })) : null;
  }

  async _start() {
    this._setStatus(this.attempt === 0 ? "connecting" : "reconnecting", { attempt: this.attempt });
    try {
      await loadUnlessPlaced(this);
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        this.stopped = true; // signing in, not retrying, is what helps
        this._setStatus("closed", { code: error.status, reason: error.message });
      } else {
        this._scheduleReconnect({ reason: `load failed: ${error.message}` });
      }
      return;
    }
    if (this.stopped) return;
    const url = new URL(this.url);
    for (const [name, value] of Object.entries(this.filter)) url.searchParams.set(name, String(value));
    if (this.lastSeq !== null) {
      url.searchParams.set("since", String(this.lastSeq));
      if (this.epoch) url.searchParams.set("epoch", this.epoch);
    }
    this._connect(url);
  }

  _frame(frame) {
    switch (frame.type) {
      case "connection":
        this.attempt = 0;
        this.epoch = frame.epoch ?? this.epoch;
        if (this.lastSeq === null) this.lastSeq = frame.seq;
        this._setStatus("live", { clientId: frame.client_id, seq: frame.seq });
        this.presence?.start();
        return;
      case "presence":
      case "join":
      case "leave":
        this.presence?.receive(frame);
        return;
      case "error":
        return; // the close that follows (if any) says what happens next
      default:
        applyChannelFrame(this, frame, (reason) => this.#resume(reason));
    }
  }

  _dropped(detail, permanent) {
    this.presence?.stop();
  }

  close() {
    super.close();
    this.presence?.stop();
  }

  /** Drop this socket and reconnect at once, resuming from lastSeq. */
  #resume(reason) {
    const socket = this.socket;
    this.socket = null;
    this._clearTimers();
    if (socket) socket.close(4000, reason);
    this.attempt = 0;
    this._start();
  }
}

/**
 * LiveSocket: one socket on /ws/ for any number of channels (docs/protocol.md, "Many
 * channels on one socket"). Each `subscribe(channel, options)` is a Subscription with
 * its own snapshot (`load`), filter, seq, epoch and resume, exactly as a LiveChannel
 * keeps them; the socket reconnects (backoff, heartbeat) once for all of them and
 * resubscribes each from its last seq. A gap or a `reset` in one subscription
 * resubscribes that one alone.
 *
 *   const live = new LiveSocket().open();
 *   const posts = live.subscribe("posts", { filter: { author: "3" }, load, onEvent });
 *   const users = live.subscribe("users", { load: loadUsers, onEvent: onUser });
 *   posts.unsubscribe();
 */
export class LiveSocket extends ReconnectingSocket {
  /**
   * @param {object} options
   *   clientId, heartbeatSecs, heartbeatTimeoutSecs, maxBackoffSecs, restartWindowSecs, onMessage: as LiveChannel
   *   onStatus(status, detail)  the socket's "connecting" | "live" | "reconnecting" | "closed"
   *   url                 the socket URL (default ws(s)://<this host>/ws/)
   */
  constructor(options = {}) {
    super(options);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.url = options.url ?? `${scheme}://${location.host}/ws/`;
    this.subscriptions = new Map(); // channel -> Subscription
  }

  close() {
    super.close();
    for (const subscription of this.subscriptions.values()) subscription.setStatus("closed", { code: 1000 });
  }

  /** Follow `channel` on this socket; options as LiveChannel's (load, onEvent, onStatus, filter, presence, ...). */
  subscribe(channel, options = {}) {
    this.subscriptions.get(channel)?.unsubscribe();
    const subscription = new Subscription(this, channel, options);
    this.subscriptions.set(channel, subscription);
    if (this.status === "live") subscription.begin();
    return subscription;
  }

  _start() {
    this._setStatus(this.attempt === 0 ? "connecting" : "reconnecting", { attempt: this.attempt });
    this._connect(new URL(this.url));
  }

  _frame(frame) {
    if (frame.type === "connection") {
      this.attempt = 0;
      this._setStatus("live", { clientId: frame.client_id });
      for (const subscription of this.subscriptions.values()) subscription.begin();
      return;
    }
    if (typeof frame.channel === "string") this.subscriptions.get(frame.channel)?.receive(frame);
  }

  _dropped(detail, permanent) {
    for (const subscription of this.subscriptions.values()) {
      subscription.setStatus(permanent ? "closed" : "reconnecting", detail);
    }
  }
}

/** One channel of a LiveSocket: its snapshot, filter, seq and epoch (made by LiveSocket.subscribe). */
class Subscription {
  constructor(socket, channel, options) {
    this.socket = socket;
    this.channel = channel;
    this.load = options.load ?? null;
    this.filter = options.filter ?? {};
    this.onEvent = options.onEvent ?? (() => {});
    this.onStatus = options.onStatus ?? (() => {});
    this.objectUrl = options.objectUrl ?? ((event) => `/api/${channel}/${encodeURIComponent(event.data.id)}/`);
    this.fetchHeaders = options.fetchHeaders ?? {};
    this.delivery = new OrderedDelivery(this);
    this.lastSeq = null;
    this.epoch = null;
    this.presence = options.presence
      ? new Presence(options.presence, () => this.socket.send({ type: "get_presence", channel }))
      : null;
    this.status = "closed";
    this.active = true;
    this.waiting = true; // frames of this channel before our `subscribed` belong to an older subscription
  }

  /** (Re)subscribe from the last applied seq, loading the snapshot first when there is none. */
  async begin() {
    if (!this.active) return;
    this.waiting = true;
    this.setStatus(this.lastSeq === null ? "connecting" : "reconnecting", {});
    try {
      await loadUnlessPlaced(this);
    } catch (error) {
      this.setStatus("closed", { code: error.status ?? null, reason: `load failed: ${error.message}` });
      return;
    }
    const frame = { type: "subscribe", channel: this.channel, filter: this.filter };
    if (this.lastSeq !== null) {
      frame.since = this.lastSeq;
      if (this.epoch) frame.epoch = this.epoch;
    }
    if (this.active) this.socket.send(frame);
  }

  unsubscribe() {
    this.active = false;
    this.presence?.stop();
    this.socket.send({ type: "unsubscribe", channel: this.channel });
    if (this.socket.subscriptions.get(this.channel) === this) this.socket.subscriptions.delete(this.channel);
    this.setStatus("closed", { code: 1000, reason: "unsubscribed" });
  }

  receive(frame) {
    if (!this.active) return;
    switch (frame.type) {
      case "subscribed":
        this.waiting = false;
        this.epoch = frame.epoch ?? this.epoch;
        if (this.lastSeq === null) this.lastSeq = frame.seq;
        this.setStatus("live", { seq: frame.seq });
        this.presence?.start();
        return;
      case "unsubscribed":
        return;
      case "presence":
      case "join":
      case "leave":
        this.presence?.receive(frame);
        return;
      case "error":
        // This subscription was refused; the socket and the others go on.
        this.setStatus("closed", { code: ERROR_CLOSES[frame.code] ?? null, reason: frame.message });
        return;
      default:
        break;
    }
    // Frames of this channel before our `subscribed` belong to an older subscription.
    if (!this.waiting) applyChannelFrame(this, frame, () => this.#resubscribe());
  }

  #resubscribe() {
    this.waiting = true;
    this.socket.send({ type: "unsubscribe", channel: this.channel });
    this.begin();
  }

  setStatus(status, detail) {
    this.status = status;
    if (status !== "live") this.presence?.stop();
    this.onStatus(status, detail);
  }
}

// The close a subscription's refusal stands for, to show it as a /ws/<channel> socket would.
const ERROR_CLOSES = { unknown_channel: 4404, auth_required: 4401, auth_failed: 4401, invalid_filter: 4400 };
