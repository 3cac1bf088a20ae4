from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("django.contrib.auth.urls")),
    path("uploads/", include("accounts.upload_urls")),
    path("audit/", include("accounts.audit_urls")),
    path("", include("accounts.urls")),
]
