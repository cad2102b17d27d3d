"""In-app notifications, and emails of them when SMTP is configured (each kind can be muted)."""
