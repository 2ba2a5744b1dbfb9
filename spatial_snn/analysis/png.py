"""PNG files for figures: 256-colour palettes, about a third of matplotlib's RGBA size.

The figures here are lines, markers and text on white; quantised to at most
256 colours (maximum coverage, which keeps every pixel within a few levels of
its colour) they look the same and take 3x less room, which matters for the
pictures shipped beside the champions in ``genomes/``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path


def save_png(fig, path: str | os.PathLike, dpi: float | None = None) -> Path:
    """Write matplotlib figure ``fig`` to ``path`` as a palette PNG (making its folder); return the path.

    ``path`` must end in ``.png``: a file's contents match its suffix.
    """
    from PIL import Image

    check_suffix(path, (".png",))

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    buf.seek(0)
    with Image.open(buf) as img:
        small = img.convert("RGB").quantize(256, method=Image.Quantize.MAXCOVERAGE)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    small.save(out, format="PNG", optimize=True)
    return out


def check_suffix(path: str | os.PathLike, suffixes: tuple[str, ...]) -> None:
    """ValueError unless ``path`` ends in one of ``suffixes`` (case-insensitive): what we write there is that format."""
    if Path(path).suffix.lower() not in suffixes:
        raise ValueError(
            f"{os.fspath(path)}: expected a file name ending in {' or '.join(suffixes)} (that is what is "
            f"written), got {Path(path).suffix or 'no suffix'!r}"
        )
