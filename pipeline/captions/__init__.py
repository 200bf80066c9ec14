"""Captions from the narration's own timing: words → readable cues → SRT/WebVTT files and burned-in images.

    timing   WordTiming; words from ElevenLabs' character alignment, Piper's sentence spans (+ the audio's
             pauses) or the voice's spoken-word times
    cues     Cue; a scene's words → cues a person can read (line and length limits, ≥ 0.8 s, no overlap)
    files    SRT and WebVTT text for a list of cues
    render   a cue drawn once as an RGBA image (boxed, outlined, karaoke) inside the frame's title-safe area
    burn     cue images blended into a segment's frames, encoded again in the delivery profile
    steps    in a render: the captioned step's key and work (kind: pipeline/kinds/captioned.py), the files
    language a pre-flight warning when the voice cannot speak the narration's language

The first four are pure functions over typed dataclasses.
"""

from pipeline.captions.cues import Cue, line_chars, scene_cues, video_cues
from pipeline.captions.files import to_srt, to_vtt
from pipeline.captions.files import write_captions
from pipeline.captions.timing import (
    WordTiming,
    words_from_alignment,
    words_from_sentences,
    words_from_spoken_words,
    words_from_voice_meta,
)

__all__ = ["Cue", "WordTiming", "line_chars", "scene_cues", "video_cues", "to_srt", "to_vtt", "write_captions", "words_from_alignment",
           "words_from_sentences", "words_from_spoken_words", "words_from_voice_meta"]  # fmt: skip
