"""An idea → a storyboard drafted by a language model (Hugging Face chat completion), to edit like any other.

    draft = idea_to_storyboard("a lighthouse keeper's last night", services=services, budget=0.05)
    draft.storyboard, draft.usd

The model is asked, through `huggingface_hub.InferenceClient.chat_completion`, for one JSON object matching the
storyboard's JSON Schema cut to what a draft decides (`draft_schema`: title, style and each scene's image prompt,
camera move, narration and duration; never providers, keys or money). The answer is validated like any
storyboard; an answer that is not JSON or not a valid storyboard is sent back once with what is wrong (one repair
round), and a second bad answer is a clear ProviderFailed. Every scene's duration is then raised, where needed,
to hold its narration at the voice's speaking rate (pipeline/script_storyboard.py).

Money: the call is priced before it is made (`estimate_idea`: the prompt and the longest answer allowed, at the
model's dated price per token), each call must fit the budget (`budget`; `require_budget` refuses a paid draft
without one, as the studio's renders do), a host's hourly quota of paid steps counts it, and every answered call
is recorded in the ledger (render id `idea-…`, step `storyboard`, tokens from the answer's usage). The key comes
from the caller's credentials (a session's own or the server's HF_TOKEN); it is sent only in the Authorization
header and blanked out of every message.

Where: HF_CHAT_URL, else HF_INFERENCE_URL (a proxy, a dedicated endpoint, a test's fake), read per call; unset,
the client routes the model id to an inference provider. Calls go through `remote.call` (its retries: a 429 after
its Retry-After, a 5xx answer; a timeout may have been billed and is reported, not repeated).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from pipeline.errors import BudgetExceeded, BudgetRequired, InputError, MissingKey, Problem, ProviderFailed
from pipeline.providers import remote
from pipeline.providers.base import Price, Prices
from pipeline.script_storyboard import Draft, scene_duration, settings_of
from pipeline.storyboard import MAX_SCENE_SECONDS, MAX_SCENES, Storyboard, storyboard_schema, validate_storyboard

if TYPE_CHECKING:
    from pipeline.credentials import Credentials
    from pipeline.ratelimit import Quota
    from pipeline.services import Services

LABEL = "Hugging Face (chat)"
PROVIDER = "hf-chat"  # its name in the ledger
KEY_ENV_VAR = "HF_TOKEN"
BASE_URL_ENV_VARS = ("HF_CHAT_URL", "HF_INFERENCE_URL")
DEFAULT_MODEL = "Qwen/Qwen2.5-72B-Instruct"
MAX_IDEA_CHARS = 2000
MAX_ANSWER_TOKENS = 3000  # a 10-scene draft is ~900 tokens of JSON
REQUEST_TIMEOUT = 120.0  # seconds: thousands of tokens at a busy provider
CHARS_PER_TOKEN = 3.0  # for the estimate: fewer characters a token than the ~4 of English prose, so it is high
SCENE_FIELDS = ("image_prompt", "video_prompt", "audio_script", "duration")
# Inference providers pass their own per-token price through; the dearest serving this model is priced here.
PRICES = Prices("2026-11", {
    None: Price("token", 1.2e-6, "estimate: $0.13-$1.20 per million tokens across the providers serving "
                "Qwen2.5-72B-Instruct; the dearest"),
})  # fmt: skip

ERRORS = remote.ErrorMap(
    LABEL,
    key_env_var=KEY_ENV_VAR,
    rules=(remote.Rule("not_allowed", ProviderFailed, "not allowed", (403,),
                       advice="give the token the \"Make calls to Inference Providers\" permission, and accept the "
                       "model's licence on its Hugging Face page if it is gated"),),
    advice={"bad_key": "check HF_TOKEN on the server or paste your own token in the studio's Keys panel",
            "no_credit": "add credits or subscribe to PRO at huggingface.co, or paste a script instead (free)",
            "bad_request": "check the model id (or HF_CHAT_URL / HF_INFERENCE_URL)",
            "server_error": "try again later, or paste a script instead (free)",
            "timeout": "the model may be busy or loading; try again in a minute (a timed-out answer may still "
                       "have been billed)",
            "unreachable": "check the network or HF_CHAT_URL / HF_INFERENCE_URL"},
)  # fmt: skip

SYSTEM_PROMPT = """You draft storyboards for short narrated videos. Answer with one JSON object only, no prose \
and no code fence, matching this JSON Schema:
{schema}
Rules: 3 to 8 scenes unless the idea asks for another number (at most {max_scenes}). Each scene's audio_script is \
the narration spoken over it: one or two sentences a viewer hears, at most 22 words, together telling the idea \
as a story. image_prompt describes what the picture shows, concretely and visually, with no text or captions in \
the picture. video_prompt is a camera move: zoom in, zoom out, pan left, pan right, pan up or pan down, slow or \
fast; vary it from scene to scene. duration is whole seconds from 2 to {max_seconds}, long enough to say the \
narration (about 2.5 words a second). style is one of the schema's styles."""
REPAIR_PROMPT = """That answer is not a valid storyboard:
{problems}
Answer again with the corrected JSON object only."""


def draft_schema() -> dict[str, Any]:
    """The storyboard's JSON Schema (from the pydantic model) cut to what a drafted storyboard decides."""
    full = storyboard_schema()
    scene = full["$defs"]["Scene"]["properties"]
    return {
        "title": "Storyboard", "type": "object", "additionalProperties": False,
        "required": ["title", "style", "scenes"],
        "properties": {
            "title": full["properties"]["title"],
            "style": full["properties"]["style"],
            "scenes": {"type": "array", "minItems": 1, "maxItems": MAX_SCENES, "items": {
                "type": "object", "additionalProperties": False, "required": list(SCENE_FIELDS),
                "properties": {name: {k: v for k, v in scene[name].items() if k != "default"} for name in SCENE_FIELDS},
            }},
        },
    }  # fmt: skip


def base_url(environ: Mapping[str, str] | None = None) -> str | None:
    """Where the chat goes: HF_CHAT_URL, else HF_INFERENCE_URL (read now, never at import); None: routed."""
    env = os.environ if environ is None else environ
    return next((env[name].strip() for name in BASE_URL_ENV_VARS if env.get(name, "").strip()), None)


@dataclass(frozen=True)
class IdeaEstimate:
    """What drafting costs at most: each call (the prompt and the longest answer), and with the repair round."""

    model: str
    tokens_per_call: int
    usd_per_call: float
    as_of: str = PRICES.as_of

    @property
    def max_usd(self) -> float:
        return round(2 * self.usd_per_call, 6)

    def summary(self) -> str:
        return (f"drafting with {self.model} costs at most ${self.usd_per_call:.4f} (${self.max_usd:.4f} if the "
                f"answer needs its one repair); prices as of {self.as_of}")  # fmt: skip


def _messages(idea: str) -> list[dict[str, str]]:
    schema = json.dumps(draft_schema(), separators=(",", ":"))
    system = SYSTEM_PROMPT.format(schema=schema, max_scenes=MAX_SCENES, max_seconds=MAX_SCENE_SECONDS)
    return [{"role": "system", "content": system}, {"role": "user", "content": f"The idea: {idea}"}]


def _usd(tokens: float) -> float:
    price = PRICES.get(None)
    assert price is not None
    return round(tokens * price.usd, 6)


def estimate_idea(idea: str, model: str | None = None) -> IdeaEstimate:
    prompt_chars = sum(len(m["content"]) for m in _messages(_check_idea(idea)))
    tokens = math.ceil(prompt_chars / CHARS_PER_TOKEN) + MAX_ANSWER_TOKENS
    # a repair sends the first answer back too: at most MAX_ANSWER_TOKENS more, counted in its own call's price
    return IdeaEstimate(model or DEFAULT_MODEL, tokens + MAX_ANSWER_TOKENS, _usd(tokens + MAX_ANSWER_TOKENS))


def _check_idea(idea: Any) -> str:
    if not isinstance(idea, str) or not idea.strip():
        raise InputError([Problem("idea", "is empty: say in a sentence or two what the video is about")])
    if len(idea) > MAX_IDEA_CHARS:
        raise InputError([Problem("idea", f"is {len(idea):,} characters; an idea is at most {MAX_IDEA_CHARS:,} "
                                  "(to narrate a text you wrote, use Start from a script)")])  # fmt: skip
    return idea.strip()


@dataclass
class IdeaDraft:
    """A drafted storyboard and what it cost (`calls`: the model's answers it took, 1 or 2)."""

    storyboard: Storyboard
    usd: float
    calls: int
    render_id: str
    model: str

    @property
    def draft(self) -> Draft:
        """As the studio shows it (YAML, a note with the cost and any language warning)."""
        calls = f"{self.calls} call{'s' if self.calls > 1 else ''}"
        return Draft(self.storyboard, f"Drafted by {self.model} for ${self.usd:.4f} ({calls})")


@dataclass
class _Session:
    """One drafting: its money so far and where it is recorded."""

    services: "Services"
    credentials: "Credentials"
    model: str
    budget: float | None
    quota: "Quota | None"
    render_id: str = field(default_factory=lambda: f"idea-{secrets.token_hex(6)}")
    spent: float = 0.0
    calls: int = 0

    def before_call(self, estimate: IdeaEstimate) -> None:
        if self.budget is not None and self.spent + estimate.usd_per_call > self.budget + 1e-9:
            raise BudgetExceeded(f"drafting: not started — the call costs up to ${estimate.usd_per_call:.4f} and "
                                 f"${self.spent:.4f} of the ${self.budget:.2f} budget is spent; raise the budget")
        if self.quota is not None:
            self.quota.take()

    def after_call(self, answer: Any, messages: list[dict[str, str]]) -> None:
        usage = getattr(answer, "usage", None)
        tokens = getattr(usage, "total_tokens", None) if usage is not None else None
        if not isinstance(tokens, int) or tokens <= 0:  # no usage reported: what was sent and received
            sent = sum(len(m["content"]) for m in messages) + len(_content(answer) or "")
            tokens = math.ceil(sent / CHARS_PER_TOKEN)
        usd = _usd(tokens)
        self.spent, self.calls = round(self.spent + usd, 6), self.calls + 1
        from pipeline.ledger import Spend

        step_key = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
        self.services.ledger.record(Spend(self.render_id, None, "storyboard", PROVIDER, self.model, float(tokens),
                                          "token", usd, getattr(answer, "id", None) or None,
                                          self.credentials.fingerprint(KEY_ENV_VAR), step_key))  # fmt: skip


def idea_to_storyboard(idea: str, *, services: "Services", credentials: "Credentials | None" = None,
                       model: str | None = None, budget: float | None = None, require_budget: bool = False,
                       quota: "Quota | None" = None, base: dict[str, Any] | str | None = None,
                       timeout: float = REQUEST_TIMEOUT) -> IdeaDraft:  # fmt: skip
    """Draft a storyboard for `idea` (see the module's docstring). `base`: a storyboard as a dict or text whose
    settings (resolution, voice, providers, captions, music) the draft keeps; `credentials`: the caller's keys (the
    server's when None). Raises InputError, BudgetRequired/BudgetExceeded, RateLimitExceeded, ProviderError."""
    idea = _check_idea(idea)
    model = (model or "").strip() or DEFAULT_MODEL
    estimate = estimate_idea(idea, model)
    if require_budget and budget is None:
        raise BudgetRequired(f"Drafting from an idea costs up to ${estimate.max_usd:.4f} at Hugging Face. Set a "
                             f"budget of at least ${estimate.max_usd:.2f} to confirm, or start from a script (free).")
    credentials = credentials if credentials is not None else services.credentials
    token = credentials.get(KEY_ENV_VAR)
    if not token:
        raise MissingKey(f"no API key ({KEY_ENV_VAR} is not set)", provider=LABEL,
                         advice=f"set {KEY_ENV_VAR} on the server or paste your own Hugging Face token in the studio's "
                         "Keys panel, or start from a script (free)")  # fmt: skip
    session = _Session(services, credentials, model, budget, quota)
    settings = settings_of(base)
    messages = _messages(idea)
    with _client(token, timeout) as client:
        answer = _ask(client, session, estimate, messages, token)
        try:
            storyboard = _storyboard(answer, settings)
        except _Unusable as first:
            messages = [*messages, {"role": "assistant", "content": first.content},
                        {"role": "user", "content": REPAIR_PROMPT.format(problems=first.problems)}]  # fmt: skip
            try:
                storyboard = _storyboard(_ask(client, session, estimate, messages, token), settings)
            except _Unusable as second:
                raise ProviderFailed(f"the model's answer was not a valid storyboard, twice: {second.problems}",
                                     provider=LABEL, advice="try again, say the idea differently, choose another "
                                     "model, or start from a script (free)") from None  # fmt: skip
    return IdeaDraft(storyboard, session.spent, session.calls, session.render_id, model)


def _client(token: str, timeout: float) -> Any:
    from huggingface_hub import InferenceClient

    url = base_url()
    return InferenceClient(base_url=url, token=token, timeout=timeout) if url else \
        InferenceClient(token=token, timeout=timeout)  # fmt: skip


def _ask(client: Any, session: _Session, estimate: IdeaEstimate, messages: list[dict[str, str]], token: str) -> Any:
    """One chat completion, paid for and recorded; a refusal is a clear error at once (repairing cannot help)."""
    from pipeline.providers.hf import translate

    session.before_call(estimate)
    response_format = {"type": "json_schema", "json_schema": {"name": "storyboard", "schema": draft_schema()}}
    answer = remote.call(
        lambda: client.chat_completion(messages, model=session.model, response_format=response_format,
                                       max_tokens=MAX_ANSWER_TOKENS, temperature=0.7),
        errors=ERRORS, retry=remote.answered_without_output,
        translate=lambda exc: translate(exc, key=token, errors=ERRORS))  # fmt: skip
    session.after_call(answer, messages)
    refusal = _refusal(answer)
    if refusal:
        raise ProviderFailed(f"the model declined: {_short(refusal, token)}", provider=LABEL,
                             advice="say the idea differently, or start from a script (free)")  # fmt: skip
    return answer


def _short(text: str, secret: str | None, limit: int = 300) -> str:
    """The model's words on one line, at most `limit` characters, never with the key in them."""
    text = " ".join(str(text).split())
    text = text.replace(secret, "***") if secret else text
    return text if len(text) <= limit else text[:limit] + "…"


class _Unusable(Exception):
    def __init__(self, content: str, problems: str) -> None:
        super().__init__(problems)
        self.content, self.problems = content, problems


def _content(answer: Any) -> str | None:
    try:
        return answer.choices[0].message.content
    except (AttributeError, IndexError, KeyError, TypeError):
        return None


def _refusal(answer: Any) -> str | None:
    try:
        message = answer.choices[0].message
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    said = message.get("refusal") if isinstance(message, dict) else getattr(message, "refusal", None)
    return str(said) if said else None


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def _storyboard(answer: Any, base: dict[str, Any]) -> Storyboard:
    """The answer as a storyboard over `base`'s settings, each scene long enough for its narration."""
    content = _content(answer) or ""
    if not content.strip():
        raise _Unusable(content, "the answer was empty; answer with the JSON object")
    text = _FENCE.sub(r"\1", content)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _Unusable(content, f"it is not JSON ({exc.msg} at line {exc.lineno}): "
                                 f"{_short(content, None, 80)!r}") from None  # fmt: skip
    if not isinstance(data, dict) or not isinstance(data.get("scenes"), list):
        raise _Unusable(content, "it needs an object with `title`, `style` and a list of `scenes`")
    voice = (base.get("voice") or {}).get("provider") or "piper"
    scenes = [_scene(s, voice) for s in data["scenes"]]
    drafted = {k: v for k, v in data.items() if k in ("title", "style")}
    merged = {**base, **drafted, "scenes": scenes}
    try:
        return validate_storyboard(merged)
    except InputError as exc:
        raise _Unusable(content, "\n".join(f"- {p}" for p in exc.problems)) from None


def _scene(scene: Any, voice: str) -> Any:
    """A drafted scene's own fields, its duration raised to hold its narration (where it is a whole number)."""
    if not isinstance(scene, dict):
        return scene  # validation names it
    kept = {k: v for k, v in scene.items() if k in SCENE_FIELDS}
    narration, duration = kept.get("audio_script"), kept.get("duration")
    if isinstance(narration, str) and isinstance(duration, int) and not isinstance(duration, bool):
        kept["duration"] = min(MAX_SCENE_SECONDS, max(duration, scene_duration(narration, voice)))
    return kept
