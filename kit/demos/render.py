"""Charts drawn straight into numpy images, so a demo's picture costs milliseconds, not a plot.

Why not matplotlib per request: on one core, drawing a figure (Agg) takes 40-500 ms and
Gradio's ``gr.Plot`` then encodes it again, far more than the models' work (well under a
millisecond per forward pass). This module draws with Pillow's ``ImageDraw`` onto an RGB
canvas (antialiased DejaVu Sans text, the font matplotlib ships) and returns a
``(H, W, 3) uint8`` array that ``gr.Image`` shows as it is:

    Panel maps data to pixels:   col(x) = left + (x - x0) / (x1 - x0) * (right - left)
                                 row(y) = bottom - (y - y0) / (y1 - y0) * (bottom - top)
                                 (log axes: the same on log10 of the value)
    ticks: the "nice" steps 1, 2, 2.5, 5 x 10^k giving about ``target`` ticks in the range.

Pictures that never change for a process (the 10k-point scatters, the shipped test-set
numbers) are still drawn once by matplotlib (``figure_to_array``, the Agg canvas's RGBA buffer,
no PNG round trip) and kept as read-only arrays; per-request marks go into a copy.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
AXIS_GREY = (60, 60, 60)
GRID_GREY = (228, 228, 228)
TEXT_GREY = (90, 90, 90)
#: matplotlib's "tab10" colours by name, as the old figures used them
TAB = {
    "blue": (31, 119, 180),
    "orange": (255, 127, 14),
    "green": (44, 160, 44),
    "red": (214, 39, 40),
    "purple": (148, 103, 189),
    "grey": (127, 127, 127),
}
#: matplotlib's "tab10" cycle in order (its default line colours)
TAB10_RGB = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)

RGB = tuple[int, int, int]


def rgb(hex_colour: str) -> RGB:
    """A hex colour as RGB: "#1b9e77" -> (27, 158, 119)."""
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _font_dir() -> Path | None:
    """matplotlib's bundled font folder, found without importing matplotlib (~0.5 s)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
    return folder if folder.is_dir() else None


@lru_cache(maxsize=32)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans at ``size`` px (Pillow's own scalable default font if it is missing)."""
    folder = _font_dir()
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    if folder is not None and (folder / name).is_file():
        return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size)


def nice_ticks(lo: float, hi: float, target: int = 7) -> np.ndarray:
    """Round tick values inside [lo, hi], about ``target`` of them (steps 1, 2, 2.5, 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo])
    raw = (hi - lo) / max(1, target)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks / step) * step  # no 0.30000000000000004


def tick_label(v: float) -> str:
    """A tick value as short text: 0.5, 2, 1e-3, 1000."""
    if v == 0:
        return "0"
    if abs(v) < 1e-3 or abs(v) >= 1e5:
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:.6g}"


@dataclass(frozen=True)
class Panel:
    """A plotting area: its pixel box on the canvas and the data range it shows."""

    box: tuple[int, int, int, int]
    """(left, top, right, bottom) in pixels."""
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlog: bool = False
    """Log10 x axis (values must be > 0)."""
    ylog: bool = False

    def _frac(self, v, lim, log):
        v = np.asarray(v, dtype=float)
        if log:
            v, lim = np.log10(np.maximum(v, 1e-300)), (math.log10(lim[0]), math.log10(lim[1]))
        return (v - lim[0]) / (lim[1] - lim[0])

    def col(self, x):
        """Data x -> pixel column (float array)."""
        left, _, right, _ = self.box
        return left + self._frac(x, self.xlim, self.xlog) * (right - left)

    def row(self, y):
        """Data y -> pixel row (float array; larger y is higher up)."""
        _, top, _, bottom = self.box
        return bottom - self._frac(y, self.ylim, self.ylog) * (bottom - top)


class Canvas:
    """A white RGB picture to draw text, axes and marks on; ``array()`` returns it as numpy."""

    def __init__(self, width: int, height: int, background: RGB = WHITE):
        self.image = Image.new("RGB", (width, height), background)
        self.draw = ImageDraw.Draw(self.image, "RGBA")  # RGBA fills blend onto the RGB picture

    def array(self) -> np.ndarray:
        """The picture as (H, W, 3) uint8."""
        return np.array(self.image)

    # ---- text ----------------------------------------------------------------------------

    def text(self, xy, s: str, size: int = 13, color=BLACK, anchor="mm", bold=False) -> None:
        """Text at pixel ``xy``; ``anchor`` as Pillow's: "mm" centred, "rm" right-middle, ..."""
        self.draw.text(xy, s, fill=color, font=font(size, bold), anchor=anchor)

    def text_width(self, s: str, size: int = 13, bold=False) -> float:
        """Width in pixels of ``s`` drawn at ``size``."""
        return self.draw.textlength(s, font=font(size, bold))

    def vertical_text(self, xy, s: str, size: int = 13, color=BLACK) -> None:
        """Text turned 90° anticlockwise (a y-axis label), centred on ``xy``."""
        f = font(size)
        _, _, right, bottom = f.getbbox(s)
        label = Image.new("L", (right + 2, bottom + 2), 0)
        ImageDraw.Draw(label).text((1, 1), s, fill=255, font=f)
        label = label.rotate(90, expand=True)
        x, y = round(xy[0] - label.width / 2), round(xy[1] - label.height / 2)
        self.image.paste(Image.new("RGB", label.size, color), (x, y), label)

    # ---- marks ---------------------------------------------------------------------------

    def line(self, points, color=BLACK, width: int = 2, dash: int = 0) -> None:
        """A polyline through pixel points [(x, y), ...]; ``dash`` > 0 draws dashes that long."""
        pts = [(float(x), float(y)) for x, y in points]
        if not dash:
            self.draw.line(pts, fill=color, width=width, joint="curve")
            return
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            length = math.hypot(x1 - x0, y1 - y0)
            for s in np.arange(0, length, 2 * dash):
                e = min(s + dash, length)
                a, b = s / length, e / length
                seg = [(x0 + a * (x1 - x0), y0 + a * (y1 - y0))]
                seg.append((x0 + b * (x1 - x0), y0 + b * (y1 - y0)))
                self.draw.line(seg, fill=color, width=width)

    def rect(self, box, fill=None, outline=None, width: int = 1) -> None:
        """A rectangle (left, top, right, bottom); RGBA fills blend."""
        self.draw.rectangle([float(v) for v in box], fill=fill, outline=outline, width=width)

    def dot(self, xy, radius: float, fill, outline=None) -> None:
        """A filled circle of ``radius`` pixels centred on ``xy``."""
        x, y = xy
        self.draw.ellipse(
            [x - radius, y - radius, x + radius, y + radius], fill=fill, outline=outline
        )

    def paste(self, picture: np.ndarray, xy) -> None:
        """A uint8 (H, W) or (H, W, 3) array with its top-left corner at pixel ``xy``."""
        self.image.paste(Image.fromarray(picture).convert("RGB"), (int(xy[0]), int(xy[1])))

    # ---- axes ----------------------------------------------------------------------------

    def axes(
        self,
        panel: Panel,
        xlabel: str = "",
        ylabel: str = "",
        title: str = "",
        xticks=None,
        yticks=None,
        grid: bool = True,
        size: int = 12,
        ytick_labels: bool = True,
    ) -> None:
        """Frame, grid, ticks with labels, axis names and title around ``panel``
        (``ytick_labels=False``: ticks only, for a panel sharing its neighbour's y axis)."""
        left, top, right, bottom = panel.box
        xticks = _ticks(panel.xlim, panel.xlog) if xticks is None else np.asarray(xticks)
        yticks = _ticks(panel.ylim, panel.ylog) if yticks is None else np.asarray(yticks)
        xticks = xticks[(xticks >= min(panel.xlim)) & (xticks <= max(panel.xlim))]
        yticks = yticks[(yticks >= min(panel.ylim)) & (yticks <= max(panel.ylim))]
        for v, c in zip(xticks, panel.col(xticks), strict=True):
            if grid:
                self.draw.line([(c, top), (c, bottom)], fill=GRID_GREY, width=1)
            self.draw.line([(c, bottom), (c, bottom + 5)], fill=AXIS_GREY, width=1)
            self.text((c, bottom + 8), tick_label(float(v)), size, anchor="mt")
        for v, r in zip(yticks, panel.row(yticks), strict=True):
            if grid:
                self.draw.line([(left, r), (right, r)], fill=GRID_GREY, width=1)
            self.draw.line([(left - 5, r), (left, r)], fill=AXIS_GREY, width=1)
            if ytick_labels:
                self.text((left - 8, r), tick_label(float(v)), size, anchor="rm")
        self.rect((left, top, right, bottom), outline=AXIS_GREY)
        if xlabel:
            self.text(((left + right) / 2, bottom + 30), xlabel, size + 1, anchor="mt")
        if ylabel:
            widest = max((self.text_width(tick_label(float(v)), size) for v in yticks), default=0)
            self.vertical_text((left - widest - 24, (top + bottom) / 2), ylabel, size + 1)
        if title:
            self.text(((left + right) / 2, top - 10), title, size + 1, anchor="mb")

    def legend(self, items, xy, size: int = 12, anchor: str = "right", title: str = "") -> None:
        """A boxed legend. ``items``: (label, colour, kind) with kind "patch", "line" or "dot";
        ``xy`` is its top-right corner (``anchor="right"``) or top-left (``"left"``)."""
        pad, key, gap, line_h = 8, 22, 8, size + 8
        head = line_h if title else 0
        labels = [s for s, _, _ in items] + ([title] if title else [])
        width = pad * 2 + key + gap + max(self.text_width(s, size) for s in labels)
        height = pad * 2 + head + line_h * len(items) - 4
        x0 = xy[0] - width if anchor == "right" else xy[0]
        y0 = xy[1]
        self.rect((x0, y0, x0 + width, y0 + height), fill=(255, 255, 255, 225), outline=GRID_GREY)
        if title:
            self.text((x0 + width / 2, y0 + pad + (line_h - 4) / 2), title, size + 1)
        for i, (label, color, kind) in enumerate(items):
            y = y0 + pad + head + i * line_h + (line_h - 4) / 2
            kx = x0 + pad
            if kind == "patch":
                self.rect((kx, y - 6, kx + key, y + 6), fill=color)
            elif kind == "dot":
                self.dot((kx + key / 2, y), 5, fill=color)
            else:
                self.line([(kx, y), (kx + key, y)], color=color, width=3)
            self.text((kx + key + gap, y), label, size, anchor="lm")


def _ticks(lim, log: bool) -> np.ndarray:
    lo, hi = sorted(lim)
    if not log:
        return nice_ticks(lo, hi)
    return 10.0 ** np.arange(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi)) + 1)


def figure_to_array(fig) -> np.ndarray:
    """A matplotlib Figure drawn by the Agg canvas -> (H, W, 3) uint8 (no PNG round trip)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def frozen(image: np.ndarray) -> np.ndarray:
    """``image`` made read-only, for pictures cached per process and shared by every visitor."""
    image.setflags(write=False)
    return image
