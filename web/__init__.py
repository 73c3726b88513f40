"""The archive's web view (``gonghui serve``): see web/app.py."""

from web.app import create_app

__all__ = ["create_app"]
