"""Captions: word timing from the voice's own data, readable cues, SRT/WebVTT files, burned-in cue images."""

from __future__ import annotations

import re

import pysubs2
import pytest

from pipeline.captions.cues import (
    LANDSCAPE_CHARS,
    VERTICAL_CHARS,
    Cue,
    line_chars,
    scene_cues,
    scene_starts,
    text_width,
)
from pipeline.captions.files import to_srt, to_vtt, write_captions
from pipeline.captions.timing import (
    WordTiming,
    join_words,
    split_sentences,
    split_words,
    words_from_alignment,
    words_from_sentences,
    words_from_voice_meta,
)
from pipeline.media.segment import NARRATION_LEAD

ENGLISH = (
    "The sun sinks behind the mountains, and the valley goes quiet. Gold turns to rose, then to violet, and the "
    "first stars appear above the ridge while the river keeps talking to itself in the dark. Night is here."
)
CHINESE = (
    "山后的太阳慢慢落下，山谷变得安静。金色变成玫瑰色，然后变成紫色，"
    "第一批星星出现在山脊上方，河水在黑暗中继续低语。夜晚来了。"
)
ARABIC = (
    "تغرب الشمس خلف الجبال، ويهدأ الوادي. يتحول الذهب إلى وردي ثم إلى بنفسجي، "
    "وتظهر النجوم الأولى فوق القمة. لقد حل الليل."
)
HEBREW = "השמש שוקעת מאחורי ההרים, והעמק נרגע."


def _timed(text: str, seconds_per_sentence: float = 3.0, pause: float = 0.3) -> list[WordTiming]:
    sentences = split_sentences(text)
    spans, t = [], 0.0
    for _ in sentences:
        spans.append([t, t + seconds_per_sentence])
        t += seconds_per_sentence + pause
    return words_from_sentences(sentences, spans)


def _check_cues(cues: list[Cue], scene_start: float, scene_end: float, max_chars: int, max_lines: int = 2):
    assert cues, "a narrated scene has cues"
    for cue in cues:
        assert 1 <= len(cue.lines) <= max_lines
        for line in cue.lines:
            assert text_width(line) <= max_chars, line
        assert cue.end - cue.start >= 0.8 - 1e-9, cue
        assert scene_start <= cue.start < cue.end <= scene_end, cue
        assert "".join(w.text for line in cue.word_lines() for w in line) == "".join(w.text for w in cue.words)
    for before, after in zip(cues, cues[1:]):
        assert before.end <= after.start, (before, after)


# -- 1. word timing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [ENGLISH, CHINESE, ARABIC, HEBREW, "日本語のテキストです。Hello 世界", "“好吗”(你好)"])
def test_words_join_back_to_the_text(text):
    assert join_words(split_words(text)) == text


def test_chinese_is_cut_into_characters_keeping_punctuation():
    assert [w for w, _ in split_words("你好，世界。")] == ["你", "好，", "世", "界。"]
    assert [w for w, _ in split_words("日本語です。Hello 世界")][-3:] == ["Hello", "世", "界"]


def test_sentences_split_like_the_voice_does():
    assert split_sentences("One two.  Three?\nFour! Five") == ["One two.", "Three?", "Four!", "Five"]
    assert split_sentences("你好。我很好！") == ["你好。", "我很好！"]


def _alignment(text: str, char_seconds: float = 0.06, gap_after=".,"):
    """ElevenLabs' shape: one entry per character, with a pause after sentence and clause marks."""
    starts, ends, t = [], [], 0.0
    for ch in text:
        starts.append(round(t, 3))
        t += char_seconds
        ends.append(round(t, 3))
        if ch in gap_after:
            t += 0.3
    return {"characters": list(text), "character_start_times_seconds": starts, "character_end_times_seconds": ends}


def test_elevenlabs_alignment_gives_words_from_their_characters():
    text = "Hi there, world."
    words = words_from_alignment(_alignment(text))
    assert [w.text for w in words] == ["Hi", "there,", "world."]
    assert words[0].start == 0 and words[0].end == pytest.approx(0.12)
    assert words[1].start == pytest.approx(0.18) and words[1].end == pytest.approx(0.54)
    assert words[2].start == pytest.approx(0.9)  # after the comma's pause
    assert words_from_voice_meta(text, {"alignment": _alignment(text)}) == words


def test_sentence_spans_spread_words_by_character_share_inside_each_sentence():
    words = words_from_sentences(["Go now.", "Stay here forever."], [[0.0, 1.0], [2.0, 4.0]])
    assert [w.text for w in words] == ["Go", "now.", "Stay", "here", "forever."]
    assert all(0.0 <= w.start < w.end <= 1.0 for w in words[:2])
    assert all(2.0 <= w.start < w.end <= 4.0 for w in words[2:])
    assert words[4].end - words[4].start > words[3].end - words[3].start  # longer word, longer time
    assert [w.space_before for w in words] == [False, True, True, True, True]


def test_spoken_words_give_exact_times_and_survive_a_different_word_count():
    from pipeline.captions.timing import words_from_spoken_words

    said = [[0.1, 0.3], [0.35, 0.6], [0.7, 0.8], [0.82, 1.2]]
    exact = words_from_spoken_words(["It was a storm."], [said])
    assert [(w.text, w.start, w.end) for w in exact] == [("It", 0.1, 0.3), ("was", 0.35, 0.6), ("a", 0.7, 0.8),
                                                         ("storm.", 0.82, 1.2)]  # fmt: skip
    # the voice said "was a" as one word: three spoken words for four text words
    merged = words_from_spoken_words(["It was a storm."], [[said[0], [0.35, 0.8], said[3]]])
    assert [w.text for w in merged] == ["It", "was", "a", "storm."]
    assert merged[0].end == 0.3 and merged[1].start == 0.35 and merged[2].end == 0.8 and merged[3].start == 0.82


def test_voice_meta_without_sentence_texts_splits_the_text_itself():
    meta = {"sentences": [[0.0, 1.0], [1.3, 2.0]], "duration": 2.0}
    words = words_from_voice_meta("Go now. Stay.", meta)
    assert [w.text for w in words] == ["Go", "now.", "Stay."] and words[2].start == 1.3


# -- 2. cues -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "max_chars"), [(ENGLISH, LANDSCAPE_CHARS), (ENGLISH, VERTICAL_CHARS),
                                                 (CHINESE, LANDSCAPE_CHARS), (CHINESE, VERTICAL_CHARS),
                                                 (ARABIC, LANDSCAPE_CHARS), (HEBREW, VERTICAL_CHARS)])  # fmt: skip
def test_cues_keep_every_word_in_order_within_the_limits(text, max_chars):
    words = _timed(text)
    cues = scene_cues(words, 10.0, 30.0, max_chars=max_chars)
    _check_cues(cues, 10.0, 30.0, max_chars)
    assert [w.text for c in cues for w in c.words] == [w for w, _ in split_words(text)]
    assert join_words([w for c in cues for w in c.words]) == text  # the narration, word for word


def test_cues_are_shifted_by_the_scene_offset_and_the_lead_in():
    words = _timed("Short one. And a second sentence.")
    cues = scene_cues(words, 12.5, 20.0)
    assert cues[0].words[0].start == pytest.approx(12.5 + NARRATION_LEAD)
    assert cues[0].start == pytest.approx(12.5 + NARRATION_LEAD)
    assert scene_starts([120, 96, 240]) == [0.0, 5.0, 9.0]


def test_a_video_places_each_scene_by_frame_counts_and_skips_silent_scenes():
    from pipeline.captions.cues import video_cues

    scenes = [_timed("First scene speaks."), None, _timed("Third scene, after a silent one.")]
    cues = video_cues(scenes, [120, 96, 144])
    assert cues[0].start == pytest.approx(NARRATION_LEAD)
    assert not [c for c in cues if 5.0 < c.end and c.start < 9.0], "no cue in the silent scene"
    third = [c for c in cues if c.start >= 9.0]
    assert third and third[0].start == pytest.approx(9.0 + NARRATION_LEAD) and third[-1].end <= 15.0
    assert [w.text for c in cues for w in c.words] == "First scene speaks. Third scene, after a silent one.".split()


def test_cues_break_at_sentences_and_clauses_first():
    cues = scene_cues(_timed(ENGLISH), 0.0, 30.0)
    assert cues[0].lines == ("The sun sinks behind the mountains,", "and the valley goes quiet.")
    for cue in cues:
        assert len(cue.lines) == 1 or all(" " in line for line in cue.lines), "no one-word line"


def test_a_short_cue_is_held_for_0_8_s_but_never_into_the_next_cue_or_scene():
    words = [WordTiming("Yes.", 0.0, 0.2, False), WordTiming("No.", 1.3, 1.5)]  # a long pause: two cues
    cues = scene_cues(words, 0.0, 2.2, lead=0.0)
    assert [(c.text, c.start, c.end) for c in cues] == [("Yes.", 0.0, 0.8), ("No.", 1.3, 2.1)]
    # one-line cues of 4 columns: "Yes." cannot get 0.8 s without running into "No."; it stops where it starts
    crowded = scene_cues([WordTiming("Yes.", 0.0, 0.2, False), WordTiming("No.", 0.5, 0.7)], 0.0, 2.0, lead=0.0,
                         max_chars=4, max_lines=1)  # fmt: skip
    assert [(c.start, c.end) for c in crowded] == [(0.0, 0.5), (0.5, 1.3)]
    # a scene too short to hold the last cue for 0.8 s after it: the cue starts earlier, in the silence
    (tight,) = scene_cues([WordTiming("Bye.", 0.9, 1.2, False)], 0.0, 1.3, lead=0.0)
    assert tight.end == 1.3 and tight.start == pytest.approx(0.5)


def test_words_past_the_scene_end_are_clamped_inside_it():
    words = [WordTiming("late", 4.9, 6.0, False)]
    (cue,) = scene_cues(words, 0.0, 5.0, lead=0.25)
    assert cue.end <= 5.0 and cue.end - cue.start >= 0.8 - 1e-9


def test_no_words_no_cues():
    assert scene_cues([], 0.0, 5.0) == []
    assert words_from_voice_meta("", {"duration": 0.0}) == []


# -- 3. files ------------------------------------------------------------------------------------------------


def _sample_cues() -> list[Cue]:
    cues = scene_cues(_timed(ENGLISH), 0.0, 30.0)
    cues += scene_cues(_timed(CHINESE), 30.0, 50.0)
    cues += scene_cues(_timed(ARABIC + " 1 < 2 & -->"), 50.0, 80.0)
    return cues


@pytest.mark.parametrize("kind", ["srt", "vtt"])
def test_caption_files_read_back_as_the_same_cues(tmp_path, kind):
    cues = _sample_cues()
    srt, vtt = write_captions(cues, tmp_path / "OUT.mp4")
    path = srt if kind == "srt" else vtt
    assert path.name == f"OUT.{kind}"
    parsed = pysubs2.load(str(path), encoding="utf-8")
    assert len(parsed) == len(cues)
    for cue, event in zip(cues, parsed):
        assert event.start == round(cue.start * 1000) and event.end == round(cue.end * 1000)
        lines = event.text.split("\\N")
        if kind == "vtt":
            lines = [ln.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for ln in lines]
        assert lines == [ln.replace("-->", "→") for ln in cue.lines]


def test_caption_files_are_deterministic_and_well_formed():
    cues = _sample_cues()
    assert to_srt(cues) == to_srt(list(cues)) and to_vtt(cues) == to_vtt(list(cues))
    vtt = to_vtt(cues)
    assert vtt.startswith("WEBVTT\n\n") and "1 < 2" not in vtt and "1 &lt; 2 &amp; →" in vtt
    stamps = re.findall(r"^(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})$", to_srt(cues), re.M)
    assert len(stamps) == len(cues) and stamps[0][0] == "00:00:00,250"


# -- 4. burned-in images -------------------------------------------------------------------------------------

import shutil  # noqa: E402
import subprocess  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageFont  # noqa: E402

from pipeline.captions.render import (  # noqa: E402
    HIGHLIGHT,
    MISSING,
    _face,
    cue_frames,
    font_chain,
    font_for,
    render_cue,
    safe_area,
)


def _first_cue(text: str, max_chars: int = LANDSCAPE_CHARS) -> Cue:
    return scene_cues(_timed(text), 0.0, 30.0, max_chars=max_chars)[0]


@pytest.mark.parametrize("text", [ARABIC, CHINESE, HEBREW, "Съешь же ещё этих мягких булок. Γειά σου κόσμε."])
def test_every_character_is_drawn_with_a_real_glyph_not_the_missing_box(text):
    chain = font_chain()
    for ch in sorted(set(text) - {" "}):
        font = font_for(ch, chain)
        face = _face(font, 40)  # the shaping engine the cue is drawn with
        assert bytes(face.getmask(ch)) != bytes(face.getmask(MISSING)), f"{ch!r} (U+{ord(ch):04X}) would be tofu"


def _ink(image: Image.Image, colour) -> np.ndarray:
    """Pixels of `image` close to `colour` (RGB), as a boolean mask."""
    rgb = np.asarray(image.convert("RGBA"), dtype=np.int16)
    return (np.abs(rgb[..., :3] - np.array(colour[:3])).sum(axis=2) < 60) & (rgb[..., 3] > 200)


@pytest.mark.parametrize("text", [ARABIC, CHINESE])
def test_a_whole_cue_renders_glyphs_unlike_a_cue_of_missing_characters(text):
    cue = _first_cue(text)
    drawn = render_cue(cue, 1280, 720).image
    tofu_words = tuple(WordTiming(MISSING * len(w.text), w.start, w.end, w.space_before) for w in cue.words)
    tofu = render_cue(Cue(cue.start, cue.end, tuple(join_words(ws) for ws in [tofu_words]), tofu_words), 1280, 720)
    assert _ink(drawn, (255, 255, 255)).sum() > 2000, "text was drawn"
    # tofu is hollow boxes of one shape: the real glyphs differ from them
    assert np.asarray(drawn).tobytes() != np.asarray(tofu.image).tobytes()


def test_arabic_is_shaped_and_runs_right_to_left():
    word = "بالعالم"
    shaped = _face(font_for(word[0], font_chain()), 40)
    plain = ImageFont.truetype(shaped.path, 40, layout_engine=ImageFont.Layout.BASIC)
    assert shaped.getlength(word, direction="rtl") < plain.getlength(word) - 5, "joined letters are narrower"
    assert bytes(shaped.getmask(word, direction="rtl")) != bytes(plain.getmask(word))
    # karaoke on the first (logical) word: in Arabic it is the rightmost
    cue = Cue(0.0, 1.0, ("مرحبا بالعالم",), (WordTiming("مرحبا", 0, 0.4, False), WordTiming("بالعالم", 0.5, 1.0)))
    image = render_cue(cue, 1280, 720, style="karaoke", highlight=0).image
    yellow, white = np.nonzero(_ink(image, HIGHLIGHT))[1], np.nonzero(_ink(image, (255, 255, 255)))[1]
    assert yellow.size > 100 and white.size > 100 and yellow.mean() > white.mean()


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (720, 1280), (640, 360), (360, 640)])
@pytest.mark.parametrize("position", ["bottom", "middle", "top"])
def test_cues_stay_inside_the_title_safe_area(width, height, position):
    vertical = height > width
    cue = _first_cue(ENGLISH + " Supercalifragilisticexpialidocious-extraordinarily-long", VERTICAL_CHARS if vertical
                     else LANDSCAPE_CHARS)  # fmt: skip
    for style in ("boxed", "outline"):
        placed = render_cue(cue, width, height, style=style, position=position)
        area = safe_area(width, height)
        right, bottom = placed.x + placed.image.width, placed.y + placed.image.height
        assert area.left <= placed.x and right <= area.right and area.top <= placed.y and bottom <= area.bottom
    if vertical:
        assert area.bottom <= 0.8 * height and area.right <= 0.85 * width  # clear of the app's buttons


def test_karaoke_gives_one_image_per_word_back_to_back_in_one_place():
    cue = _first_cue(ENGLISH)
    frames = cue_frames(cue, 1280, 720, style="karaoke")
    assert len(frames) == len(cue.words)
    assert frames[0].start == cue.start and frames[-1].end == cue.end
    assert all(a.end == b.start for a, b in zip(frames, frames[1:]))
    assert len({(f.image.x, f.image.y, f.image.image.size) for f in frames}) == 1
    (single,) = cue_frames(cue, 1280, 720, style="boxed")
    assert (single.start, single.end) == (cue.start, cue.end)


def test_a_cue_image_is_the_same_bytes_every_time(tmp_path):
    cue = _first_cue(ARABIC)
    first = render_cue(cue, 720, 1280, style="karaoke", highlight=2).save(tmp_path / "a.png").read_bytes()
    again = render_cue(cue, 720, 1280, style="karaoke", highlight=2).save(tmp_path / "b.png").read_bytes()
    assert first == again and Image.open(tmp_path / "a.png").mode == "RGBA"
    assert line_chars(720, 1280) == VERTICAL_CHARS and line_chars(1280, 720) == LANDSCAPE_CHARS


def _frame_with(cue_image, width=1280, height=720) -> Image.Image:
    """A busy frame (a colour gradient with stripes) with the cue laid over it."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    stripes = ((np.arange(width)[None, :] // 24) % 2) * 60
    rgb = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2 + stripes + 0 * y], axis=2).clip(0, 255).astype(np.uint8)
    frame = Image.fromarray(rgb).convert("RGBA")
    frame.alpha_composite(cue_image.image, (cue_image.x, cue_image.y))
    return frame.convert("RGB")


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is installed by .ci/run")
@pytest.mark.parametrize("style", ["boxed", "outline"])
def test_a_burned_in_english_cue_reads_back_by_ocr(tmp_path, style):
    cue = _first_cue(ENGLISH)
    placed = render_cue(cue, 1280, 720, style=style)
    frame = _frame_with(placed)
    # the caption's part of the frame as tesseract likes text: the caption's white as black on white, doubled
    region = frame.crop((placed.x, placed.y, placed.x + placed.image.width, placed.y + placed.image.height))
    ink = _ink(region, (255, 255, 255))
    region = Image.fromarray(np.where(ink, 0, 255).astype(np.uint8)).resize((region.width * 2, region.height * 2))
    path = tmp_path / "caption.png"
    region.save(path)
    read = subprocess.run(["tesseract", str(path), "stdout", "--psm", "6"], capture_output=True, text=True,
                          check=True, env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}).stdout  # fmt: skip
    found = set(re.findall(r"[a-z]+", read.lower()))
    expected = set(re.findall(r"[a-z]+", cue.text.lower()))
    assert expected <= found, f"OCR missed {expected - found} in {read!r}"


# -- the real offline voice ----------------------------------------------------------------------------------


def _voiced_frames(samples: np.ndarray, rate: int, floor_db: float = -45.0) -> np.ndarray:
    """Per 10 ms of audio: is there speech (louder than `floor_db` dBFS)?"""
    hop = rate // 100
    frames = len(samples) // hop
    x = samples[: frames * hop].astype(np.float32).reshape(frames, hop) / 32768
    return 20 * np.log10(np.sqrt(np.mean(np.square(x), axis=1)) + 1e-9) > floor_db


@pytest.mark.slow
def test_piper_words_fall_inside_the_speech_not_the_silence_between_sentences(tmp_path):
    from pipeline.cancel import CancelToken
    from pipeline.media.ffmpeg import read_wav
    from pipeline.providers.base import StepContext, VoiceRequest
    from pipeline.providers.piper import PiperVoiceProvider

    text = "The storm had passed by morning, and the sea was calm. A small boat came home at last."
    request = VoiceRequest(text=text, voice_id=None, model=None, stability=0.5, similarity_boost=0.75)
    out = PiperVoiceProvider().generate(request, StepContext(tmp_path, CancelToken()))
    assert out.meta["sentence_texts"] == ["The storm had passed by morning, and the sea was calm.",
                                          "A small boat came home at last."]  # fmt: skip
    samples, rate = read_wav(out.path)
    words = words_from_voice_meta(text, out.meta, samples, rate)
    assert join_words(words) == text
    voiced = _voiced_frames(samples, rate)
    # the silence between the sentences, measured on the audio: the longest unvoiced stretch
    quiet = np.flatnonzero(np.diff(np.concatenate([[1], voiced.astype(int), [1]])))
    gaps = [(a, b) for a, b in zip(quiet[::2], quiet[1::2])]
    gap = max(gaps, key=lambda g: g[1] - g[0])
    assert (gap[1] - gap[0]) / 100 >= 0.28  # at least the pause we put between sentences
    spoken = []
    for word in words:
        first, last = int(word.start * 100), max(int(word.start * 100) + 1, int(word.end * 100))
        assert voiced[first:last].any(), f"{word} lies in a silence"
        assert last <= gap[0] or first >= gap[1], f"{word} overlaps the pause between sentences"
        spoken.append(voiced[first:last].mean())
    # character share cannot place a short word exactly (a 90 ms "by" may sit in a stop's closure), but the
    # words as a whole lie in speech
    assert np.mean(spoken) >= 0.8, spoken
    sentence_two = [w for w in words if w.start >= out.meta["sentences"][1][0]]
    assert [w.text for w in sentence_two] == ["A", "small", "boat", "came", "home", "at", "last."]


def test_pauses_heard_in_the_audio_pin_the_words_around_them():
    rate = 1000
    t = np.arange(int(2.0 * rate)) / rate
    loud = (np.sin(2 * np.pi * 200 * t) * 8000).astype(np.int16)
    samples = np.where(((t >= 0.1) & (t < 0.6)) | ((t >= 0.9) & (t < 1.2)) | ((t >= 1.45) & (t < 1.9)), loud, 0)
    words = words_from_sentences(["One two, three four five."], [[0.0, 2.0]], samples.astype(np.int16), rate)
    times = {w.text: (w.start, w.end) for w in words}
    assert times["One"][0] == pytest.approx(0.1) and times["two,"][1] == pytest.approx(0.6)  # silence trimmed
    assert times["three"][0] == pytest.approx(0.9)  # the comma's pause
    assert times["four"][1] <= 1.2 and times["five."][0] == pytest.approx(1.45)  # a pause without a comma
    assert times["five."][1] == pytest.approx(1.9)


@pytest.mark.slow
def test_piper_sentences_are_cut_where_piper_cuts_them():
    from pipeline.providers.piper import PiperVoiceProvider, piper_sentences

    voice = PiperVoiceProvider()._load("joe")
    for text in ["It cost $3.50, i.e. cheap. Then we left.", "Wait... what? Really!", "Listen. The sea speaks."]:
        sentences = piper_sentences(voice, text)
        assert " ".join(sentences) == text and len(sentences) == len(voice.phonemize(text))


# -- storyboard settings and the voice's language ------------------------------------------------------------


def test_captions_settings_default_and_refuse_unknown_values():
    from pipeline.errors import InputError
    from pipeline.storyboard import parse_storyboard, storyboard_schema

    old = parse_storyboard("scenes: [{image_prompt: a}]")  # a storyboard written before captions existed
    assert old.captions.model_dump() == {"files": True, "burn_in": True, "style": "boxed", "position": "bottom"}
    with pytest.raises(InputError) as info:
        parse_storyboard("captions: {style: fancy, position: side, burn_in: maybe, size: 3}\n"
                         "scenes: [{image_prompt: a}]")
    text = str(info.value)
    assert "captions.style: 'fancy' is not allowed; choose one of: boxed, outline, karaoke" in text
    assert "captions.position: 'side' is not allowed; choose one of: bottom, middle, top" in text
    assert "captions.burn_in: 'maybe' is not true or false" in text
    assert "captions.size: unknown field" in text
    schema = storyboard_schema()
    assert schema["properties"]["captions"]["$ref"].endswith("CaptionSettings")
    assert schema["$defs"]["CaptionSettings"]["properties"]["style"]["enum"] == ["boxed", "outline", "karaoke"]


@pytest.mark.parametrize("text, language", [
    (ENGLISH, None), (CHINESE, "Chinese"), (ARABIC, "Arabic"), (HEBREW, "Hebrew"),
    ("Привет, как дела? Сегодня хорошая погода.", "Cyrillic"),
    ("Le soleil se couche derrière les montagnes et la vallée est calme pour la nuit.", "French"),
    ("El sol se pone detrás de las montañas y el valle se queda en silencio.", "Spanish"),
    ("Mặt trời lặn sau những ngọn núi và thung lũng trở nên yên tĩnh. Đây là của tôi.",
     "Vietnamese"),
    ("Paris is the capital of France, and the café on the corner is lovely.", None),  # English with a loanword
    ("Bonjour!", None),  # too little to tell
])  # fmt: skip
def test_narration_language_names_what_english_voices_cannot_speak(text, language):
    from pipeline.captions.language import narration_language

    assert narration_language(text) == language


def test_the_piper_voice_warns_per_scene_and_names_a_voice_that_can_speak_it():
    from pipeline.captions.language import voice_language_warnings
    from pipeline.credentials import Credentials
    from pipeline.plan import plan_render
    from pipeline.storyboard import validate_storyboard

    data = {"scenes": [{"image_prompt": "a", "audio_script": ENGLISH}, {"image_prompt": "b", "audio_script": CHINESE},
                       {"image_prompt": "c"}]}  # fmt: skip
    (warning,) = voice_language_warnings(plan_render(validate_storyboard(data), Credentials({})))
    assert warning[0] == 1
    assert warning[1].startswith("Scene 2, narration (scenes[1].audio_script): looks like Chinese") and "English only" in warning[1]
    assert "elevenlabs" in warning[1] and "eleven_multilingual_v2" in warning[1]
    paid = validate_storyboard({**data, "voice": {"provider": "elevenlabs"}})
    assert voice_language_warnings(plan_render(paid, Credentials({"ELEVENLABS_API_KEY": "k"}))) == []


def test_the_language_warning_reaches_the_render_events(small_render, tmp_path):
    from pipeline.events import StepWarning
    from pipeline.runner import render
    from pipeline.storyboard import validate_storyboard

    events = []
    scene = {"image_prompt": "a", "audio_script": "你好。", "duration": 2}
    sb = validate_storyboard({"captions": {"burn_in": False}, "scenes": [scene]})
    render(sb, tmp_path / "zh.mp4", on_event=events.append)
    warnings = [e for e in events if isinstance(e, StepWarning)]
    assert [(w.scene, w.step) for w in warnings] == [(0, "voice")]


def test_the_studio_settings_write_the_captions_keys_and_the_files_are_found_from_the_manifest(tmp_path):
    import json

    from pipeline import scenes as scene_ops
    from pipeline.captions.files import caption_files
    from pipeline.storyboard import parse_storyboard

    sb = parse_storyboard("scenes: [{image_prompt: a, audio_script: Hello there.}]")
    values = scene_ops.settings_of(sb)
    names = scene_ops.SETTING_FIELDS
    assert [values[names.index(f"captions.{k}")] for k in ("files", "burn_in", "style", "position")] == \
        [True, True, "boxed", "bottom"]  # fmt: skip
    for field, value in (("captions.burn_in", False), ("captions.style", "karaoke"), ("captions.position", "top")):
        values[names.index(field)] = value
    edited = scene_ops.apply_settings(sb, values)
    assert edited.captions.model_dump() == {"files": True, "burn_in": False, "style": "karaoke", "position": "top"}
    assert "style: karaoke" in edited.to_yaml()
    # the studio offers the files its render's manifest names, from beside the manifest only
    (tmp_path / "v.srt").write_text("1\n")
    (tmp_path / "v.vtt").write_text("WEBVTT\n")
    manifest = tmp_path / "v.manifest.json"
    manifest.write_text(json.dumps({"output": {"captions": ["v.srt", "../../etc/v.vtt", "gone.srt"]}}))
    assert caption_files(manifest) == [tmp_path / "v.srt", tmp_path / "v.vtt"]
    assert caption_files(tmp_path / "missing.json") == []


def test_burn_in_draws_a_cue_on_exactly_the_frames_it_is_on_screen(tmp_path):
    import subprocess

    from PIL import Image

    from pipeline.captions.burn import burn_cues
    from pipeline.captions.render import CueFrame, CueImage
    from pipeline.media.ffmpeg import FrameEncoder, ffmpeg_exe
    from pipeline.media.profile import EncodeProfile

    profile = EncodeProfile(width=128, height=72, crf=10)
    segment = tmp_path / "segment.mp4"
    grey = np.full((72, 128, 3), 90, np.uint8)
    with FrameEncoder(segment, profile) as encoder:
        for _ in range(12):
            encoder.write(grey)
    white = Image.new("RGBA", (40, 20), (255, 255, 255, 255))
    shown = CueFrame(0.1, 0.25, CueImage(white, 20, 30))  # frames 3, 4, 5 at 24 fps (times 0.125 … 0.208)
    out = burn_cues(segment, tmp_path / "captioned.mp4", 12, profile, [shown])
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(out), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout  # fmt: skip
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 72, 128)
    assert len(frames) == 12
    inside = [float(f[34:46, 24:56].mean()) for f in frames]
    assert [k for k, level in enumerate(inside) if level > 200] == [3, 4, 5]
    assert all(abs(float(f[:, 70:].mean()) - frames[0][:, 70:].mean()) < 3 for f in frames), "the rest is untouched"
