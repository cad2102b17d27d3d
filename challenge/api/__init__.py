"""The web layer's shared pieces: dependencies and error handlers."""
