// A front end's code against the generated channel types (make types): a serializer
// change that breaks it (a field renamed or removed) fails tsc here, naming the field.
import type { MultiplexClientFrame, Post, PostsServerFrame, User, UsersServerFrame } from "./generated/realtime-site";

export function describePost(post: Post): string {
  return `${post.title} by ${post.author_name} (${post.published ? "published" : "draft"}) at ${post.created_at}`;
}

export function describeUser(user: User): string {
  return `${user.name}${user.email ? ` <${user.email}>` : ""}${user.is_active ? "" : " (inactive)"}`;
}

export function onPostsFrame(frame: PostsServerFrame, posts: Map<number, Post>): number | null {
  switch (frame.type) {
    case "created":
    case "updated":
      if (!("truncated" in frame)) posts.set(frame.data.id, frame.data);
      return frame.seq;
    case "deleted":
      posts.delete(Number(frame.data.id));
      return frame.seq;
    case "connection":
      return frame.seq;
    case "presence":
      return frame.data.user_count;
    default:
      return null;
  }
}

export function onUsersFrame(frame: UsersServerFrame): string | null {
  return frame.type === "created" && !("truncated" in frame) ? describeUser(frame.data) : null;
}

export const subscribe: MultiplexClientFrame = { type: "subscribe", channel: "posts", filter: { published: true }, since: 0 };
