"""The operations endpoints' URLs, at the site's root (probes expect them there)."""

from django.urls import path

from accounts.ops import views

app_name = "ops"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
