"""Providers by name. Importing this package registers the built-in providers."""

from pipeline.providers.base import (  # noqa: F401
    ImageProvider,
    ImageRequest,
    Provider,
    StepContext,
    StepOutput,
    VideoProvider,
    VideoRequest,
    VoiceProvider,
    VoiceRequest,
    register,
    registry,
)

# Built-ins register themselves on import; a new provider is one more module and one more line here.
from pipeline.providers import bfl, draft, elevenlabs, hf, motion, piper, runway  # noqa: E402,F401
