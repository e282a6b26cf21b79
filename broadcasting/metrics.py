"""
Prometheus metrics of the live side, served with django-prometheus's at /metrics.

Each server process exposes its own numbers (scrape every process, or sum in
Prometheus): sockets open per channel, events published and their failures, and how
often delivery had to be repaired from the history. A rising repair or reset count
means the channel layer is dropping messages (capacity, Redis trouble) even though no
client has noticed.
"""

from prometheus_client import Counter, Gauge

sockets_open = Gauge("realtime_sockets_open", "Sockets subscribed in this process.", ["channel"])
events_published = Counter(
    "realtime_events_published_total", "Events handed to the channel layer after commit.", ["channel"]
)
publish_failures = Counter(
    "realtime_publish_failures_total",
    "Events the channel layer did not take (sockets get them from history).",
    ["channel"],
)
gap_repairs = Counter(
    "realtime_gap_repairs_total", "Times a socket filled missed events from the history.", ["channel"]
)
resets_sent = Counter("realtime_resets_total", "reset frames sent (replay impossible).", ["channel"])
presence_users = Gauge(
    "realtime_presence_users",
    "Signed-in users with at least one socket on the channel in this process (each once).",
    ["channel"],
)
presence_changes = Counter(
    "realtime_presence_changes_total", "join and leave frames this process announced.", ["channel", "change"]
)
relay_drops = Counter(
    "realtime_relay_drops_total",
    "Layer messages dropped because the channel's backlog in this process was full (sockets fill them from history).",
    ["channel"],
)
slow_consumers = Counter(
    "realtime_slow_consumers_total", "Sockets closed with 4408 for not reading fast enough.", ["channel"]
)
redis_failovers = Counter(
    "realtime_redis_failovers_total", "Times this process found Sentinel's master at a new address (a failover)."
)
redis_reconnects = Counter(
    "realtime_redis_reconnects_total", "Times a use of Redis worked again after it had failed.", ["service"]
)
