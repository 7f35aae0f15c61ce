"""The main navigation, filtered by the current role and by which pages exist.

Each app adds its pages simply by defining the URL name listed here; an entry whose URL does not
resolve is left out, so the menu never links to a page that is not built.
"""

from django.urls import NoReverseMatch, reverse

from subscribers.models import Role

MANAGER = (Role.MANAGER,)
EVERYONE = (Role.MANAGER, Role.UPLOADER)

# (label, URL name, roles that see it)
NAV = [
    ("Dashboard", "dashboard", MANAGER),
    ("Numbers", "subscribers:list", MANAGER),
    ("Tags", "subscribers:tags", MANAGER),
    ("Upload", "imports:upload", EVERYONE),
    ("Imports", "imports:history", EVERYONE),
    ("Configurations", "imports:configs", MANAGER),
    ("Alerts", "messaging:alerts", MANAGER),
    ("Inbox", "messaging:inbox", MANAGER),
    ("Usage", "subscribers:usage", MANAGER),
]
SETTINGS_NAV = [
    ("Texts", "messaging:texts", MANAGER),
    ("Sent texts", "messaging:outbox", MANAGER),
    ("Line types", "lines:settings", MANAGER),
    ("API keys", "api_keys", MANAGER),
    ("SFTP", "sftpdrop:credentials", MANAGER),
    ("Registration", "registration:brand", MANAGER),
    ("Users", "registration:users", MANAGER),
    ("People", "people", MANAGER),
    ("Audit log", "audit:log", MANAGER),
]


def _items(entries, role: str, path: str) -> list[dict]:
    items = []
    for label, name, roles in entries:
        if role not in roles:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": path.startswith(url) and url != "/"})
    return items


def navigation(request) -> dict:
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    # Between the password and the second factor nothing is open yet, so nothing is offered.
    if membership is None or not getattr(user, "is_verified", lambda: False)():
        return {"nav_items": [], "settings_items": []}
    path = request.path
    return {
        "nav_items": _items(NAV, membership.role, path),
        "settings_items": _items(SETTINGS_NAV, membership.role, path),
    }
