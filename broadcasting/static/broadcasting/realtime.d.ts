/**
 * TypeScript declarations for realtime.js, realtime_site's browser client (docs/js-client.md).
 * The frames are those of docs/protocol.md; `T` is a channel's object as its REST API shows it.
 * `make test` checks code written against these with tsc (typescript/).
 */

/** The protocol version this client speaks; package.json's major.minor. */
export const PROTOCOL_VERSION: string;

/** Anything a list holds: objects keyed by id. */
export interface Identified {
  id: number | string;
}

export type ChannelStatus = "connecting" | "live" | "reconnecting" | "closed";

/** What onStatus hears with a status: a close code and reason, or the retry's attempt and delay. */
export interface StatusDetail {
  code?: number | null;
  reason?: string;
  attempt?: number;
  delayMs?: number;
  clientId?: string;
  seq?: number;
}

/** A model's change, in seq order, once. */
export interface ModelEvent<T extends Identified = Identified> {
  type: "created" | "updated" | "deleted";
  channel: string;
  model: string;
  timestamp: string;
  seq: number;
  data: T;
  /** Too large for one frame: realtime.js fetches the object before onEvent sees it. */
  truncated?: boolean;
}

/** A custom event (broadcast_custom), in the channel's seq order. */
export interface CustomEvent {
  type: string;
  channel: string;
  timestamp: string;
  seq: number;
  data: unknown;
}

/** The server cannot replay from the client's seq: reload (onEvent sees it only without `load`). */
export interface ResetFrame {
  type: "reset";
  channel: string;
  seq: number;
  epoch?: string;
  reason?: string;
  timestamp?: string;
}

export type ChannelEvent<T extends Identified = Identified> = ModelEvent<T> | CustomEvent | ResetFrame;

/** Any frame, for logs (onMessage). */
export interface Frame {
  type: string;
  [key: string]: unknown;
}

/** Where a snapshot stands: subscribe with since=seq&epoch=epoch. */
export interface Position {
  seq: number;
  epoch: string | null;
}

export interface Snapshot<T> extends Position {
  items: T[];
  pages: number;
}

export interface SnapshotOptions {
  headers?: Record<string, string>;
  /** Objects per page, up to 1000 (default 1000). */
  pageSize?: number;
  /** Past this many pages the read stops with error.code "too_many_pages" (default 100). */
  maxPages?: number;
  /** Reads that found the list moving between pages before "kept_changing" (default 3). */
  attempts?: number;
}

/** An error of fetchSnapshot: `status` for an HTTP refusal, `code` for a read it gave up. */
export interface SnapshotError extends Error {
  status?: number;
  code?: "too_many_pages" | "kept_changing";
}

/** A list's order as the REST API's `ordering` ("-created_at,-id"), or a comparator. */
export type Ordering<T> = string | readonly string[] | ((a: T, b: T) => number);

export function tabClientId(storage?: Pick<Storage, "getItem" | "setItem"> | null): string;
export function cookie(name: string): string | null;
export function fetchSnapshot<T = unknown>(url: string, options?: SnapshotOptions): Promise<Snapshot<T>>;
export function byFields<T extends object>(fields: string | readonly string[]): (a: T, b: T) => number;
export function applyEvent<T extends Identified>(
  items: readonly T[],
  event: ChannelEvent<T> | { type: "created" | "updated" | "deleted"; data: T },
  options?: { order?: Ordering<T> | null },
): T[];

export interface PresenceUser {
  id: number | string;
  name?: string;
  [field: string]: unknown;
}

export interface PresenceState {
  users: PresenceUser[];
  userCount: number;
  anonymous: number;
}

export interface PresenceOptions {
  onChange?: (state: PresenceState) => void;
  onJoin?: (user: PresenceUser) => void;
  onLeave?: (user: PresenceUser) => void;
  /** Ask get_presence again this often (default 30). */
  refreshSecs?: number;
}

export class Presence {
  readonly state: PresenceState;
}

/** What a channel (connect, or a LiveSocket's subscribe) takes. */
export interface ChannelOptions<T extends Identified = Identified> {
  /** (Re)load the data; say where to subscribe from. Called first, and again after a reset. */
  load?: () => Promise<Position>;
  onEvent?: (event: ChannelEvent<T>) => void;
  onStatus?: (status: ChannelStatus, detail: StatusDetail) => void;
  /** The channel's REST list filters: the socket gets that set's events only. */
  filter?: Record<string, string | number | boolean>;
  presence?: true | PresenceOptions;
  /** Where to GET the object of a truncated event (default /api/<channel>/<id>/). */
  objectUrl?: (event: ModelEvent<T>) => string;
  fetchHeaders?: Record<string, string>;
}

/** What the socket itself takes (connect and LiveSocket). */
export interface SocketOptions {
  /** REST writes sent with X-Client-ID: clientId are not echoed back (default: tabClientId()). */
  clientId?: string;
  url?: string;
  onMessage?: (frame: Frame) => void;
  heartbeatSecs?: number;
  heartbeatTimeoutSecs?: number;
  maxBackoffSecs?: number;
  /** After a 1012 (a deploy), the first reconnect comes within this (default 5). */
  restartWindowSecs?: number;
}

export interface SocketStats {
  total_channels: number;
  channels: Record<string, number>;
  total_connections: number;
}

declare class ReconnectingSocket {
  readonly clientId: string;
  readonly status: ChannelStatus;
  open(): this;
  close(): void;
  /** Round trip of a ping, in milliseconds. */
  ping(): Promise<number>;
  stats(): Promise<SocketStats>;
  send(frame: Frame): boolean;
}

/** One socket on /ws/<channel>. */
export class LiveChannel<T extends Identified = Identified> extends ReconnectingSocket {
  constructor(channel: string, options?: ChannelOptions<T> & SocketOptions);
  readonly channel: string;
  readonly presence: Presence | null;
  readonly lastSeq: number | null;
  readonly epoch: string | null;
}

export function connect<T extends Identified = Identified>(
  channel: string,
  options?: ChannelOptions<T> & SocketOptions,
): LiveChannel<T>;

/** One channel of a LiveSocket. */
export interface Subscription<T extends Identified = Identified> {
  readonly channel: string;
  readonly status: ChannelStatus;
  readonly presence: Presence | null;
  readonly lastSeq: number | null;
  readonly epoch: string | null;
  unsubscribe(): void;
}

/** One socket on /ws/ for any number of channels. */
export class LiveSocket extends ReconnectingSocket {
  constructor(options?: SocketOptions & { onStatus?: (status: ChannelStatus, detail: StatusDetail) => void });
  subscribe<T extends Identified = Identified>(channel: string, options?: ChannelOptions<T>): Subscription<T>;
}
