from django.core.exceptions import ImproperlyConfigured

from . import conf


def im_status(request):
    """What every page's top bar shows about IM: the endpoint, never the secret."""
    try:
        endpoint = conf.endpoint_label()
    except ImproperlyConfigured:  # reported by the banner instead
        endpoint = "not configured"
    return {"im_endpoint": endpoint}
