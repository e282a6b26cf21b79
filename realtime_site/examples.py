"""
docs/js-client.md's examples as pages of the project, so the guide's code runs as written
(browser_tests/test_guide_examples.py): /examples/posts/ loads its module as a static
file, the way the guide recommends under the project's Content-Security-Policy;
/examples/posts-inline/ has the same module inline, allowed by a per-response nonce.
"""

from csp.constants import NONCE
from csp.decorators import csp_update
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.generic import TemplateView

# Writes from the page send the csrftoken cookie back as X-CSRFToken, so the page sets it.
posts_example = ensure_csrf_cookie(TemplateView.as_view(template_name="examples/posts.html"))
posts_inline_example = csp_update({"script-src": [NONCE]})(
    ensure_csrf_cookie(TemplateView.as_view(template_name="examples/posts_inline.html"))
)
