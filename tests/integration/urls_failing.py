"""The site's URLs plus one view that fails, for the 500 page's tests."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from imadmin.urls import handler400, handler403, handler404, handler500, urlpatterns


@login_not_required
def fail(request):
    raise RuntimeError("a bug")


urlpatterns = [path("fail/", fail), *urlpatterns]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
