"""Providers by name. Importing this package registers every provider: each module in this folder registers its
own with `@register`, so a new provider is one new file here and nothing else."""

import importlib
import pkgutil

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

# The built-ins first, in this order: the registry's order is that of the paid ones' keys in the studio's key boxes
# and `/set_keys`' arguments, so the keys of providers added later come after these.
from pipeline.providers import runway, elevenlabs, bfl, hf  # noqa: E402,F401,I001 - order matters, see above
from pipeline.providers import draft, motion, piper  # noqa: E402,F401



def import_modules(path: list[str], package: str) -> None:
    """Import every module of `package` (found on `path`), by name: each registers its own providers."""
    for module in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{module.name}")


# Then every other module in this folder: a provider file dropped in registers itself.
import_modules(__path__, __name__)
