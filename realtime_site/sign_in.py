"""
The test page's sign-in (POST /sign-in/): any active account, by email and password.
A failure comes back to the page with the reason, never to a bare login page; a
locked-out pair (django-axes) is told when it may try again, and stays locked out.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST


@require_POST
@sensitive_post_parameters("password")
def sign_in(request: HttpRequest) -> HttpResponseRedirect:
    next_url = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    form = AuthenticationForm(request, data=request.POST)
    if form.is_valid():
        login(request, form.get_user())
        return HttpResponseRedirect(next_url)
    if getattr(request, "axes_locked_out", False):
        # The page says so itself; axes's own response would replace the page.
        request.axes_locked_out = False  # type: ignore[attr-defined]
        messages.error(request, "Too many failed sign-ins for this email from here; try again later.")
    else:
        reasons = [str(error) for error in form.non_field_errors()] or ["check the email and password."]
        messages.error(request, "Sign-in failed: " + " ".join(reasons))
    return HttpResponseRedirect("/")
