"""Which of the studio's settings the chosen providers use, so the studio shows only those (issue 15).

Nothing is declared for this: a provider's `cache_fields` already says what changes its output (it is the step's
cache key). A setting is used when trying other values of it in a request changes that key: draft ignores the
model, steps and guidance; FLUX [pro] ignores steps and guidance while FLUX [dev] takes them; Piper ignores
stability and similarity (and the voice, with one voice). A provider that does not narrow `cache_fields` keeps
every setting shown. Settings that are not a provider's (title, style, output, captions, music) are always shown.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pipeline.media.profile import EncodeProfile
from pipeline.providers import ImageRequest, Provider, VideoRequest, VoiceRequest, registry
from pipeline.storyboard import Storyboard

# The studio's provider settings (pipeline.scenes.SETTING_FIELDS) → (step kind, the request field they set).
PROVIDER_SETTINGS: dict[str, tuple[str, str]] = {
    "image.model": ("image", "model"),
    "image.steps": ("image", "steps"),
    "image.guidance": ("image", "guidance"),
    "image.seed": ("image", "seed"),
    "video.content_moderation.public_figure_threshold": ("video", "public_figure_threshold"),
    "voice.voice_id": ("voice", "voice_id"),
    "voice.stability": ("voice", "stability"),
    "voice.similarity_boost": ("voice", "similarity_boost"),
}
# Values tried per request field (beside the storyboard's own): spread so a provider's clamping still shows.
_TRIALS: dict[str, tuple[Any, ...]] = {
    "steps": (1, 2, 28, 50),
    "guidance": (1.5, 3.5, 7.0),
    "seed": (1, 2),
    "public_figure_threshold": ("auto", "low"),
    "voice_id": (None, "another-voice"),
    "stability": (0.2, 0.8),
    "similarity_boost": (0.2, 0.8),
}


def _requests(storyboard: Storyboard) -> dict[str, Any]:
    """One request of each kind with the storyboard's settings (the scenes' own words do not matter here)."""
    width, height = storyboard.size
    image, video, voice = storyboard.image, storyboard.video, storyboard.voice
    return {
        "image": ImageRequest("a harbour at dawn", "a harbour at dawn", storyboard.style, width, height,
                              image.seed or 1, image.model, image.steps, image.guidance),  # fmt: skip
        "video": VideoRequest(Path("image.png"), "0" * 64, "slow push in", 4, width, height, 1, video.model,
                              video.content_moderation.public_figure_threshold, EncodeProfile(width, height)),
        "voice": VoiceRequest("Hello there.", voice.voice_id, voice.model, voice.stability, voice.similarity_boost),
    }


def _trials(provider: Provider, field: str) -> tuple[Any, ...]:
    if field == "model":
        return (None, *provider.models, "another-model")
    if field == "voice_id":
        return (*_TRIALS[field], *getattr(provider, "voices", ()))
    return _TRIALS[field]


def uses(provider: Provider, request: Any, field: str) -> bool:
    """Whether another value of the request's `field` changes what `provider` makes (its cache key)."""
    def key(value: Any) -> Any:
        changed = dataclasses.replace(request, **{field: value})
        if field == "model":
            changed = dataclasses.replace(changed, model=provider.resolve_model(value))
        return provider.cache_fields(changed)

    try:
        seen = {repr(key(value)) for value in (getattr(request, field), *_trials(provider, field))}
    except Exception:  # a provider whose cache_fields cannot take a trial value: keep the setting shown
        return True
    return len(seen) > 1


def shown_settings(storyboard: Storyboard, fields: tuple[str, ...]) -> list[bool]:
    """For each of `fields` (pipeline.scenes.SETTING_FIELDS): whether the studio shows it for this storyboard's
    providers (and models)."""
    requests = _requests(storyboard)
    providers = {kind: registry.get(kind, getattr(storyboard, kind).provider) for kind in requests}
    shown = []
    for dotted in fields:
        if dotted not in PROVIDER_SETTINGS:
            shown.append(True)
            continue
        kind, field = PROVIDER_SETTINGS[dotted]
        shown.append(uses(providers[kind], requests[kind], field))
    return shown
