"""The site's error pages (400, 403, 404, 500): the top bar, why, a way back."""
