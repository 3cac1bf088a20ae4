"""The site's URLs plus two views that fail, for the 400 and 500 pages' tests."""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.urls import path

from imadmin.urls import handler400, handler403, handler404, handler500, urlpatterns


@login_not_required
def fail(request):
    raise RuntimeError("a bug")


@login_not_required
def refuse(request):
    raise SuspiciousOperation("a forged request")


urlpatterns = [path("fail/", fail), path("refuse/", refuse), *urlpatterns]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
