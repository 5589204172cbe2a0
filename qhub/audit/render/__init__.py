"""Renderers: ``render(result) -> str``, one module per format."""
