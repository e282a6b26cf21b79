"""URL wiring: the API, its schema and docs, the admin, socket stats and the test page."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from broadcasting import live_router
from broadcasting.contract.views import asyncapi_view, openapi_view
from broadcasting.views import stats_view
from users.views import TokenLoginView

from .examples import posts_example, posts_inline_example
from .health import ReadinessView, healthz
from .sign_in import sign_in
from .views import metrics_view, test_page

# drf-spectacular's docs pages start Swagger UI / ReDoc with an inline script, and ReDoc
# runs a worker from a blob: URL; everything they load still comes from this origin.
docs_csp = csp_update({"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})

urlpatterns = [
    path("api/", include(live_router.urls)),  # every live model registered with a viewset
    path("api/auth/", include("rest_framework.urls")),
    path("api/auth/token/", TokenLoginView.as_view(), name="api-token"),
    path("api/schema/", require_GET(openapi_view), name="schema"),
    path("api/schema/asyncapi/", require_GET(asyncapi_view), name="schema-asyncapi"),
    path("api/docs/", docs_csp(SpectacularSwaggerView.as_view(url_name="schema")), name="api-docs"),
    path("api/redoc/", docs_csp(SpectacularRedocView.as_view(url_name="schema")), name="api-redoc"),
    path("ws/stats", require_GET(stats_view), name="ws-stats"),
    path("ws/stats/", require_GET(stats_view)),
    path("healthz", require_GET(healthz), name="healthz"),
    path("readyz", ReadinessView.as_view(), name="readyz"),
    path("admin/", admin.site.urls),
    path("sign-in/", sign_in, name="sign-in"),
    path("examples/posts/", posts_example, name="example-posts"),
    path("examples/posts-inline/", posts_inline_example, name="example-posts-inline"),
    path("", test_page, name="test-page"),
]
if settings.METRICS_ENABLED and (settings.METRICS_TOKEN or settings.DEBUG):
    urlpatterns.append(path("metrics", metrics_view, name="prometheus-django-metrics"))

# A path under /api/ that no route matches answers JSON, as every other API error does.
handler404 = "realtime_site.views.not_found"
