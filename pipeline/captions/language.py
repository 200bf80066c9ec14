"""Which narrations the chosen voice cannot speak: a pre-flight warning, never silent English gibberish.

The offline Piper voice bundled with Reelsmith (en_US-joe) speaks English only: given Chinese it says nothing
useful, given French it reads French words with English rules. This is a warning, not a refusal: a person may
still want the draft, and the text in the pictures and captions is right whatever the voice does.

The check is deliberately simple and says what it saw: a script other than Latin (by the Unicode name of the
letters), or Latin text with the function words of another language and none of English's.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from pipeline.errors import Problem

if TYPE_CHECKING:
    from pipeline.plan import RenderPlan

# Voice providers that speak one language only, and which.
SINGLE_LANGUAGE_VOICES = {"piper": "English"}
# A share of letters outside the Latin script above this is "written in another script".
OTHER_SCRIPT_SHARE = 0.2
# Latin-script text of at least this many words is judged by its function words.
MIN_WORDS = 5

_ENGLISH = frozenset("""the a an and of to in is are was were it that this with for on as at by be not you i he she we
                     they his her their our my from or but have has had will would can""".split())  # fmt: skip
_OTHER_LATIN = {
    "French": "le la les des du un une et est dans pour avec sur pas que qui nous vous ils elle au aux ce cette",
    "Spanish": "el la los las del un una y es en por con para que no se su sus al como pero muy",
    "German": "der die das und ist nicht ein eine mit den dem des zu auf für sich auch wir ich sie",
    "Italian": "il lo la gli le di che è un una per con non sono della del nel alla",
    "Portuguese": "o a os as do da dos das um uma e é em para com não que se na no",
    "Vietnamese": "và của là có không được một những các trong cho với người này đã",
    "Dutch": "de het een en van is niet op te dat die met zijn voor",
}
_OTHER_WORDS = {language: frozenset(words.split()) for language, words in _OTHER_LATIN.items()}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def script_of(ch: str) -> str:
    """The script of a letter, from its Unicode name ("LATIN", "CYRILLIC", "CJK", "ARABIC", ...)."""
    name = unicodedata.name(ch, "")
    first = name.split(" ")[0] if name else "UNKNOWN"
    return {"HIRAGANA": "Japanese", "KATAKANA": "Japanese", "HANGUL": "Korean", "CJK": "Chinese"}.get(
        first, first.capitalize())


def narration_language(text: str) -> str | None:
    """What `text` is written in when that is clearly not English ("Chinese", "Arabic", "French", ...), else
    None (English, or too little to tell)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    scripts: dict[str, int] = {}
    for ch in letters:
        if not unicodedata.name(ch, "").startswith("LATIN"):
            script = script_of(ch)
            scripts[script] = scripts.get(script, 0) + 1
    if scripts and sum(scripts.values()) / len(letters) > OTHER_SCRIPT_SHARE:
        return max(scripts, key=scripts.__getitem__)
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS:
        return None
    english = sum(w in _ENGLISH for w in words)
    best = max(_OTHER_WORDS, key=lambda lang: sum(w in _OTHER_WORDS[lang] for w in words))
    other = sum(w in _OTHER_WORDS[best] for w in words)
    return best if other >= 2 and other > 2 * english else None


def voice_language_warnings(plan: "RenderPlan") -> list[tuple[int, str]]:
    """(scene index, message) for every narrated scene whose text the render's voice cannot speak."""
    provider = plan.voice_provider
    speaks = SINGLE_LANGUAGE_VOICES.get(provider.name)
    if speaks is None:
        return []
    warnings = []
    for scene in plan.scenes:
        if scene.voice is None:
            continue
        language = narration_language(scene.voice.text)
        if language is not None and language != speaks:
            # Problem words the place the person's way: "Scene 2, narration (scenes[1].audio_script): …"
            warnings.append((scene.index, str(Problem(f"scenes[{scene.index}].audio_script", (
                f"looks like {language}, but the {provider.label or provider.name} speaks {speaks} only and would "
                f"read it as {speaks} gibberish; choose a voice that speaks it: voice.provider: elevenlabs (model "
                f"eleven_multilingual_v2, needs an ElevenLabs key)")))))  # fmt: skip
    return warnings
