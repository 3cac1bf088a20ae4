"""The site's URLs: admin, sign-in, and each part of the app under its namespace."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language

from accounts.api.urls import urls as api_urls
from accounts.passwords import ThrottledPasswordChangeForm

urlpatterns = [
    # One password change page, the throttled one: the admin's has its own form.
    path(
        "admin/password_change/",
        RedirectView.as_view(pattern_name="password_change"),
        name="admin_password_change",
    ),
    path("admin/", admin.site.urls),
    # Sign-in, sign-out and password change only: no public password reset,
    # which would mail links from a server that has no mail set up.
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password_change/",
        auth_views.PasswordChangeView.as_view(form_class=ThrottledPasswordChangeForm),
        name="password_change",
    ),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # The language switcher posts here; open to all, as the sign-in page has it.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("uploads/", include("accounts.uploads.urls")),
    path("audit/", include("accounts.audit.urls")),
    path("notifications/", include("accounts.notifications.urls")),
    # The JSON API: Bearer tokens, no session or CSRF (accounts/api).
    path("api/v1/", api_urls),
    path("", include("accounts.ops.urls")),
    path("", include("accounts.web.urls")),
]

# Styled error pages with the top bar and a way back (templates/<code>.html).
handler400 = "accounts.errorpages.views.bad_request"
handler403 = "accounts.errorpages.views.permission_denied"
handler404 = "accounts.errorpages.views.page_not_found"
handler500 = "accounts.errorpages.views.server_error"
