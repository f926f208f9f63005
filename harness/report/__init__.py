"""The publishable report: a static HTML site, figures and a Markdown summary (no torch)."""
