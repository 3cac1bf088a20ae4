"""The dashboard pages' URLs (namespace ``web``)."""

from django.urls import path

from accounts.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("import/", views.import_single, name="import_single"),
    path("accounts/", views.account_list, name="account_list"),
    # UserIDs are printable ASCII and may hold "/": the path converter keeps them whole.
    path("accounts/<path:user_id>/", views.account_detail, name="account_detail"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/progress.json", views.job_progress, name="job_progress"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/resume/", views.job_resume, name="job_resume"),
    path("jobs/<int:pk>/failed.csv", views.job_failed_csv, name="job_failed_csv"),
]
