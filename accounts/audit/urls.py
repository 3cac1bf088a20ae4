"""The audit pages' URLs (namespace ``audit``)."""

from django.urls import path

from accounts.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_list, name="list"),
    path("export.csv", views.audit_export, {"fmt": "csv"}, name="export_csv"),
    path("export.json", views.audit_export, {"fmt": "json"}, name="export_json"),
    path("jobs/<int:pk>/", views.audit_job, name="job"),
    path("jobs/<int:pk>/calls.csv", views.audit_job_calls_csv, name="job_calls_csv"),
]
