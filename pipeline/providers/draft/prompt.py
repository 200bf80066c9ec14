"""Reading the prompt: which scene elements its words ask for (mountains, sunset, sea, a figure, …) and the time of day.

Each element is a regular expression over the lower-cased prompt; the painter draws a layer for each element found.
"""

from __future__ import annotations

import hashlib
import re

# Each pattern must start at a word boundary: plurals match ("mountains") but "street" is not a "tree".
FEATURES: dict[str, str] = {
    "mountain": r"mountain|peaks?\b|alps|alpine|summit|ridge|valley|volcano|himalaya|canyon|fjord",
    "hill": r"hills?\b|hillside|rolling",
    "sunset": r"sunset|golden hour|golden light|dusk|evening|twilight|magic hour|sundown",
    "dawn": r"dawn|sunrise|daybreak|first light",
    "sun": r"sun\b|suns\b|sunny|sunlit|sunlight|sunshine|sunbeam",
    "night": r"night|moon|stars?\b|starry|starlit|midnight|galaxy|milky way|nocturnal",
    "sea": r"ocean|seas?\b|seaside|waves?\b|beach|coast|shore|surf\b|harbou?r|bay\b|lake|tide|island|river|pond|"
    r"water\b",
    "beach": r"beach|shore|sand\b|sandy|coast|surf\b|waves? crash",
    "rocks": r"rock|boulder|stones?\b|crag",
    "cliff": r"cliff|headland|bluff",
    "city": r"city|cities|street|skyline|buildings?\b|skyscraper|towers?\b|urban|downtown|rooftop|cyberpunk|"
    r"metropolis|alley|tokyo|new york",
    "neon": r"neon|cyberpunk|synthwave|vaporwave|futuristic|blade runner",
    "forest": r"forest|trees\b|woods\b|woodland|pines\b|jungle|grove|taiga",
    "tree": r"tree\b|oak\b|willow|baobab|pine\b",
    "pine": r"pine|firs?\b|spruce|conifer|taiga|forest",
    "rain": r"rain(?!bow)|storm|drizzle|downpour|thunder|wet\b",
    "lightning": r"lightning|thunder",
    "fog": r"fog|mist|haze|hazy|smoke|smog",
    "desert": r"desert|dunes?\b|sahara|arid",
    "snow": r"snow|winter|icy\b|ice\b|frozen|glacier|arctic|blizzard",
    "field": r"fields?\b|meadow|grass|farm|prairie|pasture|countryside|flowers?\b",
    "flowers": r"flower|blossom|bloom|popp(y|ies)|tulip|wildflower|lavender",
    "clouds": r"cloud|overcast|skies\b",
    "rainbow": r"rainbow",
    "lighthouse": r"lighthouse",
    "boat": r"boat|ship|sail|yacht|canoe|ferry",
    "birds": r"birds?\b|gulls?\b|seagull|flock|crows?\b|eagle|swallows",
    "figure": r"person|people|figure|man\b|woman|girl|boy|traveller|traveler|wanderer|hiker|walker|walks?\b|"
    r"walking|child|stranger|silhouette|explorer|samurai|knight|detective|keeper|she\b|he\b",
}
SCENERY = {"mountain", "hill", "sea", "city", "forest", "tree", "desert", "snow", "field"}
# Words that give an abstract prompt its hue (0..1).
MOODS: dict[str, float] = {
    "joy": 0.09, "happy": 0.12, "happiness": 0.12, "warm": 0.06, "love": 0.95, "hope": 0.14, "fire": 0.03,
    "calm": 0.5, "peace": 0.45, "serene": 0.48, "sad": 0.62, "melanchol": 0.64, "lonel": 0.66, "blue": 0.6,
    "dream": 0.78, "myster": 0.75, "anger": 0.0, "rage": 0.0, "energy": 0.08, "nature": 0.3, "fresh": 0.35,
}  # fmt: skip


def read_features(prompt: str) -> set[str]:
    """The scene elements the prompt's words name, with the ones they imply (a boat needs the sea)."""
    text = prompt.lower()
    found = {name for name, pattern in FEATURES.items() if re.search(rf"\b(?:{pattern})", text)}
    if found & {"lighthouse", "boat"}:
        found.add("sea")
    if "flowers" in found:
        found.add("field")
    if "neon" in found:
        found.add("city")
    if "forest" in found:
        found.discard("tree")
    elif "tree" not in found:
        found.discard("pine")
    return found


def time_of_day(features: set[str]) -> str:
    """neon, night, sunset, dawn, overcast or day: what lights the scene."""
    if "neon" in features:
        return "neon"
    if "night" in features:
        return "night"
    if "sunset" in features:
        return "sunset"
    if "dawn" in features:
        return "dawn"
    if features & {"rain", "fog", "lightning"} and "sun" not in features:
        return "overcast"
    return "day"


def stable_hash(text: str) -> int:
    """A 64-bit hash of the text that is the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
