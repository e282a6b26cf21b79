"""
The site's own views: the browser test page at / (a Django template over the live
channels, static/page/) and the guarded Prometheus endpoint.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views import defaults
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView
from django_prometheus.exports import ExportToDjangoView

from broadcasting import live_models
from broadcasting.conf import realtime_setting
from broadcasting.live.derived import title_field_name

# The channels the page has a section of its own for; every other live channel is listed generically.
OWN_SECTIONS = ("users", "posts")


def channel_info(channel: str) -> dict:
    """How the page lists a channel it has no section for: each object's title field, its owner field, REST or not."""
    live_model = live_models.for_channel(channel)
    assert live_model is not None
    shown = list(live_model.serializer_class().fields.keys())
    owner = live_model.visibility.owner_field
    return {
        "title": title_field_name(live_model.model, among=shown) or "id",
        "owner": owner if owner in shown else None,
        "rest": live_model.viewset not in (False, None),
    }


def list_ordering(channel: str) -> str:
    """The REST list's order, as realtime.js's applyEvent takes it: the model's Meta.ordering ("-created_at,-id")."""
    live_model = live_models.for_channel(channel)
    assert live_model is not None
    return ",".join(str(field) for field in live_model.model._meta.ordering or ()) or "id"


class TestPageView(TemplateView):
    template_name = "index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["channels"] = live_models.channels()
        # `make run` (DEBUG) makes a demo admin when there is no superuser; production never does.
        context["demo_admin_hint"] = settings.DEBUG
        # Channels the page has no section of its own for get a generic list (its own
        # are users and posts).
        context["other_channels"] = [name for name in live_models.channels() if name not in OWN_SECTIONS]
        context["page_config"] = {
            "channels": live_models.channels(),
            "channel_info": {name: channel_info(name) for name in context["other_channels"]},
            # Live rows take their place in the order a reload would show them.
            "ordering": {name: list_ordering(name) for name in live_models.channels()},
            # After a deploy's 1012, this page's reconnect comes within this many seconds.
            "restart_window_secs": realtime_setting("RESTART_WINDOW_SECS"),
            # What the page offers follows what the API allows this user (users/permissions.py,
            # posts/permissions.py); the API still decides, and its errors show inline.
            "user": {
                "authenticated": user.is_authenticated,
                "id": user.pk,
                "is_staff": user.is_staff,
                "can_add_user": user.has_perm("users.add_user"),
                "can_change_user": user.has_perm("users.change_user"),
                "can_delete_user": user.has_perm("users.delete_user"),
            },
        }
        return context


test_page = ensure_csrf_cookie(TestPageView.as_view())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """
    /metrics for Prometheus. With METRICS_TOKEN set it answers only
    ``Authorization: Bearer <METRICS_TOKEN>``; without one it is routed only with
    DEBUG on (urls.py), so a production server never shows its versions, memory and
    request counts to the public.
    """
    if settings.METRICS_TOKEN:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not constant_time_compare(token.strip(), settings.METRICS_TOKEN):
            response = HttpResponse("Metrics need Authorization: Bearer <METRICS_TOKEN>.\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return ExportToDjangoView(request)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: under /api/ a JSON error as the API documents it (a path no route matches), else Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
