"""URL wiring: the API, its schema and docs, the admin, socket stats and the test page."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from broadcasting.views import stats_view
from posts.views import PostViewSet
from users.views import TokenLoginView, UserViewSet

from .views import metrics_view, test_page

router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
router.register("posts", PostViewSet, basename="post")

urlpatterns = [
    path("api/", include(router.urls)),
    path("api/auth/", include("rest_framework.urls")),
    path("api/auth/token/", TokenLoginView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("ws/stats", require_GET(stats_view), name="ws-stats"),
    path("ws/stats/", require_GET(stats_view)),
    path("admin/", admin.site.urls),
    path("", test_page, name="test-page"),
]
if settings.METRICS_ENABLED and (settings.METRICS_TOKEN or settings.DEBUG):
    urlpatterns.append(path("metrics", metrics_view, name="prometheus-django-metrics"))
