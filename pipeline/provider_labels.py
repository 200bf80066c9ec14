"""The providers in a creator's words: what each one is (its module's `display_name`: "Flux (Black Forest Labs)",
"offline sketch"), whether it can run now and why ("needs your Runway API key", not "needs RUNWAYML_API_SECRET"),
and its key by the name its maker gives it. The value behind every label stays the provider's registry name, so
storyboards, the API and the CLI are unchanged; a provider added later is worded by its own module alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.providers import registry

if TYPE_CHECKING:
    from pipeline.credentials import Credentials

KINDS = ("image", "video", "voice")
KIND_TITLES = {"image": "Pictures", "video": "Motion", "voice": "Narration"}
AS_STORYBOARD = ""  # the provider argument that keeps what the storyboard says (the API's default)
AS_STORYBOARD_LABEL = "as the storyboard says"


def shown_as(kind: str, name: str) -> str:
    """A provider's label by its registry name; a name this process does not know is shown as it is."""
    cls = next((c for c in registry.classes(kind) if c.name == name), None)
    return cls.shown_as() if cls is not None else name


def availability(kind: str, name: str, credentials: "Credentials") -> tuple[bool, str]:
    """(usable now, why) in a creator's words: free and offline, paid with whose key, or which key it needs."""
    provider = registry.get(kind, name)
    usable, _ = provider.usable(credentials)
    cost = "paid" if provider.paid else "free"
    if not provider.needs_key or not provider.key_env_var:
        return usable, f"{cost}, runs on this server" if provider.offline else f"{cost}, no key needed"
    source = credentials.source(provider.key_env_var)
    if not usable or source is None:
        return False, f"needs your {provider.key_title()}"
    return True, f"{cost}, {'your' if source == 'session' else 'the server’s'} {provider.key_title()}"


def provider_choices(kind: str, credentials: "Credentials") -> list[tuple[str, str]]:
    """A provider dropdown's (label, value) choices: "as the storyboard says" first, then each provider."""
    choices = [(AS_STORYBOARD_LABEL, AS_STORYBOARD)]
    for name in registry.names(kind):
        usable, why = availability(kind, name, credentials)
        choices.append((f"{shown_as(kind, name)} — {why}", name))  # "needs your … key" says it cannot run yet
    return choices


def provider_status(credentials: "Credentials") -> str:
    """The Keys tab's summary (Markdown): each kind's providers, ✓ usable now or ✗ and what it needs."""
    lines = []
    for kind in KINDS:
        marks = []
        for name in registry.names(kind):
            usable, why = availability(kind, name, credentials)
            marks.append(f"{'✓' if usable else '✗'} {shown_as(kind, name)} ({why})")
        lines.append(f"- **{KIND_TITLES.get(kind, kind)}**: " + " · ".join(marks))
    return "\n".join(lines)


def key_titles(env_vars: "list[str] | tuple[str, ...]") -> list[str]:
    """The keys named by environment variable, as the studio names them ("Runway API key")."""
    titles = {cls.key_env_var: cls.key_title() for cls in registry.all() if isinstance(cls.key_env_var, str)}
    return [titles.get(var, var) for var in env_vars]
