"""Static widget and admin pages (issue 3)."""
