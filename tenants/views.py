"""Sign-up (public host) and the one-time hand-off into the new tenant's admin (tenant host)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tenants.forms import SignupForm
from tenants.services import (
    signup_allowed,
    signup_handoff_spend,
    signup_handoff_token,
    signup_handoff_user,
    tenant_signup,
    tenant_url,
)


@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an organisation, its first admin and a Free subscription, then hand off to its host."""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and not signup_allowed(client_address=request.META.get("REMOTE_ADDR", "")):
        form.add_error(None, "Too many sign-ups from your address in the last hour; try again later.")
        return render(request, "tenants/signup.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant, user = tenant_signup(
                name=data["organisation"], subdomain=data["subdomain"], email=data["email"], password=data["password1"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            token = signup_handoff_token(tenant=tenant, user=user)
            return HttpResponseRedirect(
                tenant_url(subdomain=data["subdomain"], path="/welcome/?" + urlencode({"token": token}))
            )
    return render(request, "tenants/signup.html", {"form": form}, status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def welcome(request: HttpRequest) -> HttpResponse:
    """GET shows a button (it changes nothing); POST spends the hand-off token and signs the admin in."""
    token = request.POST.get("token") if request.method == "POST" else request.GET.get("token")
    user = signup_handoff_user(token=token or "", schema_name=request.tenant.schema_name)
    if user is None:
        return render(request, "tenants/welcome.html", {"expired": True}, status=400)
    if request.method == "POST":
        spent = signup_handoff_spend(token=token or "", schema_name=request.tenant.schema_name)
        if spent is None:  # a concurrent request used it first
            return render(request, "tenants/welcome.html", {"expired": True}, status=400)
        login(request, spent, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect("/admin/")
    return render(request, "tenants/welcome.html", {"token": token, "organisation": request.tenant.name})
