"""The upload pages' URLs (namespace ``uploads``)."""

from django.urls import path

from accounts.uploads import views

app_name = "uploads"
urlpatterns = [
    path("new/", views.upload_new, name="new"),
    path("<slug:token>/", views.upload_preview, name="preview"),
    path("<slug:token>/confirm/", views.upload_confirm, name="confirm"),
    path("<slug:token>/cancel/", views.upload_cancel, name="cancel"),
    path("<slug:token>/invalid.csv", views.upload_invalid_csv, name="invalid_csv"),
]
