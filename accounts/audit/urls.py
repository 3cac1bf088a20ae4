from django.urls import path

from accounts.audit import views

urlpatterns = [
    path("", views.audit_list, name="audit_list"),
    path("export.csv", views.audit_export, {"fmt": "csv"}, name="audit_export_csv"),
    path("export.json", views.audit_export, {"fmt": "json"}, name="audit_export_json"),
    path("jobs/<int:pk>/", views.audit_job, name="audit_job"),
    path(
        "jobs/<int:pk>/calls.csv", views.audit_job_calls_csv, name="audit_job_calls_csv"
    ),
]
