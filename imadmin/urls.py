"""The site's URLs: admin, sign-in, and each part of the app under its namespace."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.api.urls import urls as api_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    # Sign-in, sign-out and password change only: no public password reset,
    # which would mail links from a server that has no mail set up.
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("uploads/", include("accounts.uploads.urls")),
    path("audit/", include("accounts.audit.urls")),
    # The JSON API: Bearer tokens, no session or CSRF (accounts/api).
    path("api/v1/", api_urls),
    path("", include("accounts.web.urls")),
]
