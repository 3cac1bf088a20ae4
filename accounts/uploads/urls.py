"""The upload pages' URLs (namespace ``uploads``)."""

from django.urls import path

from accounts.uploads import views

app_name = "uploads"
urlpatterns = [
    path("", views.upload_list, name="list"),
    path("new/", views.upload_new, name="new"),
    path("template.csv", views.upload_template_csv, name="template_csv"),
    path("template.xlsx", views.upload_template_xlsx, name="template_xlsx"),
    path("<slug:token>/", views.upload_preview, name="preview"),
    path("<slug:token>/progress.json", views.upload_progress, name="progress"),
    path("<slug:token>/confirm/", views.upload_confirm, name="confirm"),
    path("<slug:token>/cancel/", views.upload_cancel, name="cancel"),
    path("<slug:token>/invalid.csv", views.upload_invalid_csv, name="invalid_csv"),
]
