"""Providers by name. Importing this package registers the built-in providers."""

from pipeline.providers.base import (  # noqa: F401
    ImageProvider,
    ImageRequest,
    KeyField,
    Price,
    Prices,
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

# Built-ins register themselves on import; a new provider is one more module and one more line here, at the end.
# The order is the registry's: the paid ones' keys are the studio's key boxes (and `/set_keys`' arguments) in it.
from pipeline.providers import runway, elevenlabs, bfl, hf  # noqa: E402,F401,I001 - order matters, see above
from pipeline.providers import draft, motion, piper  # noqa: E402,F401
