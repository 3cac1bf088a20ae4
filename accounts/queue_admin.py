"""django-q2's tasks and schedules in the admin: shown, never changed.

django-q2 registers editable admins: its Schedule form runs any importable
function with any arguments on every worker host (``os.system`` included),
its queued tasks (OrmQ) can be edited, and its task lists resubmit any task.
That is a side door around every rule here, the audit history's included, so
its models are registered again read-only, for superusers too. The schedules
this project needs are made by code (``accounts.schedules``), not by hand.
"""

from django.contrib import admin
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success


class ReadOnlyQueueAdmin:
    """Browse only: no add, change, delete or action, whatever the permissions."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}  # neither resubmit nor delete_selected


class ScheduleAdmin(ReadOnlyQueueAdmin, q_admin.ScheduleAdmin):
    pass


class SuccessAdmin(ReadOnlyQueueAdmin, q_admin.TaskAdmin):
    pass


class FailureAdmin(ReadOnlyQueueAdmin, q_admin.FailAdmin):
    pass


class QueuedTaskAdmin(ReadOnlyQueueAdmin, q_admin.QueueAdmin):
    pass


READ_ONLY = {
    Schedule: ScheduleAdmin,
    Success: SuccessAdmin,
    Failure: FailureAdmin,
    OrmQ: QueuedTaskAdmin,
}


def register_read_only(site=admin.site):
    """Replace each of django-q2's registered admins by its read-only one."""
    for model, model_admin in READ_ONLY.items():
        if site.is_registered(model):  # OrmQ only with the ORM broker
            site.unregister(model)
            site.register(model, model_admin)
