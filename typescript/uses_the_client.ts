// Code a front end writes against realtime.js, imported by its package name as a
// bundler would (`npm install ../broadcasting/static/broadcasting`). `make test` runs
// tsc on it: a declaration that drifts from how the client is used fails here.
import {
  LiveSocket,
  PROTOCOL_VERSION,
  applyEvent,
  connect,
  cookie,
  fetchSnapshot,
  tabClientId,
  type ChannelEvent,
  type SnapshotError,
} from "@realtime-site/client";

interface Post {
  id: number;
  title: string;
  published: boolean;
  created_at: string;
}

let posts: Post[] = [];
const render = (items: readonly Post[]): string => items.map((post) => post.title).join(", ");

const channel = connect<Post>("posts", {
  filter: { published: "true" },
  load: async () => {
    const snapshot = await fetchSnapshot<Post>("/api/posts/?published=true");
    posts = snapshot.items;
    return snapshot;
  },
  onEvent: (event: ChannelEvent<Post>) => {
    posts = applyEvent(posts, event, { order: "-created_at,-id" });
    render(posts);
  },
  onStatus: (status, detail) => console.log(status, detail.code ?? detail.attempt),
  presence: { onChange: ({ users, anonymous }) => console.log(users.length, anonymous) },
});
const roundTrip: Promise<number> = channel.ping();
channel.stats().then((stats) => stats.total_connections.toFixed());

async function write(title: string): Promise<Post> {
  const response = await fetch("/api/posts/", {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      "X-CSRFToken": cookie("csrftoken") ?? "",
      "X-Client-ID": tabClientId(),
    },
    body: JSON.stringify({ title, published: true }),
  });
  const saved = (await response.json()) as Post;
  posts = applyEvent(posts, { type: "created", data: saved }, { order: (a, b) => b.id - a.id });
  return saved;
}

const live = new LiveSocket({ restartWindowSecs: 10 }).open();
const users = live.subscribe<{ id: number; name: string }>("users", {
  onEvent: (event) => {
    if (event.type === "created" || event.type === "updated" || event.type === "deleted") {
      console.log(event.seq);
    }
  },
});
users.unsubscribe();

fetchSnapshot("/api/posts/", { pageSize: 100, maxPages: 10 }).catch((error: SnapshotError) => {
  if (error.code === "too_many_pages") console.log("narrow the list");
});

export { PROTOCOL_VERSION, roundTrip, write };
