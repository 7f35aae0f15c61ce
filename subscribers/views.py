from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from subscribers import selectors
from subscribers.models import Membership, Role
from subscribers.tenancy import SESSION_KEY, manager_required, member_required


@member_required
def home(request):
    """Managers land on the dashboard, uploaders on the FileUploader."""
    if request.membership.role == Role.MANAGER:
        return redirect("dashboard")
    try:
        return redirect(reverse("imports:upload"))
    except NoReverseMatch:
        return render(request, "subscribers/uploader_home.html")


@require_http_methods(["GET", "POST"])
def pick_account(request):
    if not request.user.is_authenticated:
        return redirect("login")
    memberships = Membership.objects.select_related("account").filter(user=request.user)
    if request.method == "POST":
        chosen = memberships.filter(account_id=request.POST.get("account")).first()
        if chosen is None:
            messages.error(request, "Choose one of your accounts.")
        else:
            request.session[SESSION_KEY] = chosen.account_id
            messages.success(request, f"You are now working in {chosen.account.name}.")
            return redirect("home")
    return render(request, "subscribers/pick_account.html", {"memberships": memberships})


@manager_required
def dashboard(request):
    account = request.account
    counts = selectors.status_counts(account=account)
    context = {
        "counts": counts,
        "total": sum(counts.values()),
        "top_tags": selectors.top_tags(account=account),
        "events": selectors.latest_events(account=account),
    }
    return render(request, "subscribers/dashboard.html", context)
