"""The bulletin's charts as PNG pictures for the .docx (Word has no chart Python can write):
the same specs the page draws with ECharts (bulletin_export.charts), drawn with Pillow."""
from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

# A CJK font the server may have (Debian's fonts-noto-cjk, fonts-wqy-microhei, Droid); without
# one the labels fall back to Pillow's own font, which has no Chinese.
FONTS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
         "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"]
WIDTH, HEIGHT = 1200, 560
LEFT, RIGHT, TOP, BOTTOM = 90, 30, 70, 120
BLUE, RED, GREY, INK = (11, 92, 173), (179, 38, 30), (220, 225, 230), (29, 39, 51)


@lru_cache(maxsize=4)
def _font(size: int):
    from PIL import ImageFont
    for path in FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def chart_png(spec: dict[str, Any]) -> bytes:
    """One chart: bars (a value over each) or a line, a value axis from 0, labels under the axis
    (days as month-day, others cut to eight characters), the title on top."""
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    values = [float(v or 0) for v in spec["values"]]
    percent = bool(spec.get("percent"))
    # counts: a top divisible by the four grid steps, so the axis reads in whole numbers
    top = 1.0 if percent else max(4, math.ceil(max(values + [0.0]) * 1.15 / 4) * 4)

    def fmt(v: float) -> str:
        return f"{v * 100:.1f}%" if percent else (f"{v:g}" if v != int(v) else str(int(v)))

    def y(v: float) -> float:
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * v / top

    draw.text((WIDTH / 2, 20), spec["title"], fill=INK, font=_font(28), anchor="mt")
    for i in range(5):   # grid lines with their values
        v = top * i / 4
        draw.line([(LEFT, y(v)), (WIDTH - RIGHT, y(v))], fill=GREY, width=1)
        draw.text((LEFT - 8, y(v)), fmt(v), fill=INK, font=_font(18), anchor="rm")
    n = max(len(values), 1)
    step = (WIDTH - LEFT - RIGHT) / n
    points = []
    for i, (label, v) in enumerate(zip(spec["labels"], values)):
        x = LEFT + step * (i + 0.5)
        if spec["type"] == "bar":
            half = step * 0.3
            draw.rectangle([(x - half, y(v)), (x + half, y(0))], fill=BLUE)
            draw.text((x, y(v) - 4), fmt(v), fill=INK, font=_font(16), anchor="mb")
        points.append((x, y(v)))
        text = _short(str(label))
        _label(image, text, x, HEIGHT - BOTTOM + 8, tilted=n > 8)
    if spec["type"] == "line" and points:
        if len(points) > 1:
            draw.line(points, fill=RED, width=4)
        for x, yy in points:
            draw.ellipse([(x - 5, yy - 5), (x + 5, yy + 5)], fill=RED)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _short(label: str) -> str:
    """A day as month-day (a trend's weeks), any other label cut to eight characters."""
    if len(label) == 10 and label[4] == "-" and label[7] == "-":
        return label[5:]
    return label if len(label) <= 8 else label[:7] + "…"


def _label(image, text: str, x: float, y: float, tilted: bool) -> None:
    """A category label under the axis: level when there are few, turned 45° when many."""
    from PIL import Image, ImageDraw
    font = _font(18)
    if not tilted:
        ImageDraw.Draw(image).text((x, y), text, fill=INK, font=font, anchor="mt")
        return
    box = font.getbbox(text)
    tile = Image.new("RGBA", (box[2] + 4, box[3] + 4), (255, 255, 255, 0))
    ImageDraw.Draw(tile).text((2, 2), text, fill=INK, font=font)
    turned = tile.rotate(45, expand=True)
    image.paste(turned, (int(x - turned.width), int(y)), turned)
