"""Reelsmith: storyboard in, narrated video out. The importable engine (never imports gradio)."""

__version__ = "0.1.0"
