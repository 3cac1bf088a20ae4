from django.urls import path

from accounts.uploads import views as upload_views

urlpatterns = [
    path("new/", upload_views.upload_new, name="upload_new"),
    path("<slug:token>/", upload_views.upload_preview, name="upload_preview"),
    path("<slug:token>/confirm/", upload_views.upload_confirm, name="upload_confirm"),
    path("<slug:token>/cancel/", upload_views.upload_cancel, name="upload_cancel"),
    path(
        "<slug:token>/invalid.csv",
        upload_views.upload_invalid_csv,
        name="upload_invalid_csv",
    ),
]
