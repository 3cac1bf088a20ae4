"""The dashboard pages' URLs (namespace ``web``)."""

from django.urls import path, register_converter

from accounts.web import views
from accounts.web.converters import UserIdConverter

register_converter(UserIdConverter, "userid")

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("import/", views.import_single, name="import_single"),
    path("accounts/", views.account_list, name="account_list"),
    # A UserID may hold "/", "..", "%", "?" or "#": the converter keeps it in one
    # segment that no browser or proxy rewrites.
    path("accounts/<userid:user_id>/", views.account_detail, name="account_detail"),
    path("accounts/<userid:user_id>/retry/", views.account_retry, name="account_retry"),
    path("accounts/<userid:user_id>/check/", views.account_check, name="account_check"),
    path(
        "accounts/<userid:user_id>/delete/", views.account_delete, name="account_delete"
    ),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/progress.json", views.job_progress, name="job_progress"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/resume/", views.job_resume, name="job_resume"),
    path("jobs/<int:pk>/continue/", views.job_continue, name="job_continue"),
    path("jobs/<int:pk>/failed.csv", views.job_failed_csv, name="job_failed_csv"),
]
