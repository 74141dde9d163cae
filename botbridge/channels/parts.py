"""A text too long for one message of a platform, in parts: one rule for every channel that has
a limit below what the conversation may say (Messenger 2,000 characters, Viber 7,000)."""

ELLIPSIS = "…"


def split(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` characters, split between lines where it can be, else
    between words, else anywhere; never an empty part."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            parts.append(line[:cut])
            line = line[cut:].lstrip(" ") if cut < limit else line[cut:]
        current = line
    if current.strip() or not parts:
        parts.append(current)
    return [part if part.strip() else ELLIPSIS for part in parts]
