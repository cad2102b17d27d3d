"""The ASGI entry point for uvicorn: `uvicorn challenge.asgi:app`."""

from challenge.app import create_app

app = create_app()
