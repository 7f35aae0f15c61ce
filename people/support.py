"""The Support group: what support staff need in Django admin, instead of superuser powers.

They read every account's data and the audit log; they lift login and SFTP locks, reset second factors,
deactivate logins and fix memberships. Status changes they make run through the status service (admin actions).
Made after every migrate, so new models' permissions are added as they appear.
"""

SUPPORT_GROUP = "Support"

_VIEW_APPS = ["subscribers", "imports", "messaging", "registration", "api", "sftpdrop", "people", "audit"]
_CHANGE = [
    ("auth", "user"),
    ("subscribers", "account"),
    ("subscribers", "membership"),
    ("subscribers", "subscriber"),
    ("people", "loginlock"),
    ("sftpdrop", "sftpaddressblock"),
]
_ADD_DELETE = [("subscribers", "membership")]


def support_group_ensure(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    wanted = Q(content_type__app_label__in=_VIEW_APPS, codename__startswith="view_") | Q(
        content_type__app_label="auth", codename="view_user"
    )
    for app, model in _CHANGE:
        wanted |= Q(content_type__app_label=app, codename=f"change_{model}")
        wanted |= Q(content_type__app_label=app, codename=f"view_{model}")
    for app, model in _ADD_DELETE:
        wanted |= Q(content_type__app_label=app, codename__in=[f"add_{model}", f"delete_{model}"])
    group.permissions.add(*Permission.objects.filter(wanted))
