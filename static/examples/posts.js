// docs/js-client.md's "Plain JS" example, served as a static file (what the guide recommends:
// the project's Content-Security-Policy allows scripts from this origin, not inline ones).
import { applyEvent, connect, cookie, fetchSnapshot, tabClientId } from "/static/broadcasting/realtime.js";

const ORDER = "-created_at,-id"; // GET /api/posts/ lists newest first: live rows go where a reload puts them
let posts = [];
const render = () =>
  document
    .getElementById("posts")
    .replaceChildren(...posts.map((post) => Object.assign(document.createElement("li"), { textContent: post.title })));

const channel = connect("posts", {
  load: async () => {              // first load, and again after a reset
    const snapshot = await fetchSnapshot("/api/posts/");
    posts = snapshot.items;
    render();
    return snapshot;               // {seq, epoch}: subscribe from exactly here
  },
  onEvent: (event) => {            // created / updated / deleted (and custom events), once each, in order
    posts = applyEvent(posts, event, { order: ORDER });
    render();
  },
  onStatus: (status) => (document.getElementById("status").textContent = status),
});

// A write: the session's CSRF token, and this tab's client id, so the socket does not echo
// the write back; the response is applied instead.
document.getElementById("new-post").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const response = await fetch("/api/posts/", {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      "X-CSRFToken": cookie("csrftoken"),
      "X-Client-ID": tabClientId(),
    },
    body: JSON.stringify({ title: submitted.target.title.value, published: true }),
  });
  if (!response.ok) {
    document.getElementById("status").textContent = `write failed: ${response.status}`;
    return;
  }
  posts = applyEvent(posts, { type: "created", data: await response.json() }, { order: ORDER });
  render();
  submitted.target.reset();
});
// channel.ping() -> round trip in ms; channel.stats() -> the stats data; channel.close()
