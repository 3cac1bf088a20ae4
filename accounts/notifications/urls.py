"""The Notifications page's URL (namespace ``notifications``)."""

from django.urls import path

from accounts.notifications import views

app_name = "notifications"
urlpatterns = [path("", views.preferences, name="preferences")]
