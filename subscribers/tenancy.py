"""The current account of a request, and the decorators that let a role in.

A user may belong to several accounts; the one they work in lives in the session and is checked
against their memberships on every request, so a removed membership takes effect at once.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils import timezone

from subscribers.models import Membership, Role

SESSION_KEY = "account_id"


class CurrentAccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.account = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.membership = _current_membership(request)
            if request.membership is not None:
                request.account = request.membership.account
                timezone.activate(request.account.tzinfo)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def _current_membership(request) -> Membership | None:
    memberships = Membership.objects.select_related("account").filter(user=request.user)
    account_id = request.session.get(SESSION_KEY)
    if account_id is not None:
        membership = memberships.filter(account_id=account_id).first()
        if membership is not None:
            return membership
        request.session.pop(SESSION_KEY, None)
    # One account: no need to ask which.
    only = list(memberships[:2])
    if len(only) == 1:
        request.session[SESSION_KEY] = only[0].account_id
        return only[0]
    return None


def account_required(*roles: str):
    """Let in a logged-in member of the current account whose role is one of `roles` (any role if none)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if request.membership is None:
                if request.user.memberships.exists():
                    return redirect("pick_account")
                raise PermissionDenied("You are not a member of any account.")
            if roles and request.membership.role not in roles:
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


manager_required = account_required(Role.MANAGER)
member_required = account_required()
