"""The browser test page at /: a Django template over the live channels (static/page/)."""

from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView

from broadcasting.registry import live_models


class TestPageView(TemplateView):
    template_name = "index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["channels"] = live_models.channels()
        context["page_config"] = {
            "channels": live_models.channels(),
            "user": {
                "authenticated": user.is_authenticated,
                "id": user.pk,
                "is_staff": user.is_staff,
            },
        }
        return context


test_page = ensure_csrf_cookie(TestPageView.as_view())
