"""``kiosk portrait IMAGE -o OUT.jpg``: judge a photo against the standard and make the standard photo.

The checks run on the still as on a preview frame (no smoothing history, and
no extra room at the frame's edges). The photo is written only when it is
compliant. Exit status: 0 compliant, 3 not compliant (the reasons are
printed, and are in the JSON), 2 bad input (not an image, too small,
unreadable, or an output that cannot be written).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk import config
from kiosk.errors import KioskError
from kiosk.text import bilingual, text
from kiosk.userfiles import FileTooLarge, NotRegularFile, check_output, read_input

log = logging.getLogger(__name__)

EXIT_OK, EXIT_BAD_INPUT, EXIT_NOT_COMPLIANT = 0, 2, 3
#: larger than any photo or capture worth judging; a wrong path (a disk image) is not read whole
MAX_INPUT_BYTES = 100_000_000


class ImageError(KioskError):
    """An input that is not a usable image."""

    default_key = "portrait.error.not_image"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``kiosk portrait``."""
    p.add_argument("image", type=Path, help="the photo or capture to check (JPEG, PNG, ...)")
    p.add_argument("-o", "--out", type=Path, help="write the standard 480x640 photo here (only when compliant)")
    p.add_argument("--original", type=Path, help="also write the head-and-shoulders original here")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--config", type=Path, help="station config file (kiosk.toml); defaults when omitted")
    p.add_argument("--background", choices=("blue", "white", "grey"),
                   help="backdrop colour to expect (default: [portrait] background of the config)")
    p.add_argument("--allow-headwear", action="store_true",
                   help="religious or medical headwear allowed by the operator for this photo (logged)")


def read_image(path: Path, min_w: int, min_h: int) -> np.ndarray:
    """The image at ``path`` as BGR uint8; ``ImageError`` when it cannot be used."""
    from kiosk.camera.files import decode_image

    try:
        raw = read_input(path, MAX_INPUT_BYTES)
    except (NotRegularFile, FileTooLarge) as exc:
        raise ImageError(exc.key, detail=exc.detail, **exc.params) from None
    except OSError as exc:
        raise ImageError("portrait.error.not_image", detail=str(exc), file=str(path)) from None
    image = decode_image(raw, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError("portrait.error.not_image", detail="not decodable or too many pixels", file=str(path))
    if image.shape[1] < min_w or image.shape[0] < min_h:
        raise ImageError("portrait.error.too_small", detail=f"{image.shape[1]}x{image.shape[0]}",
                         width=image.shape[1], height=image.shape[0])
    return image


def judge(image: np.ndarray, settings: config.PortraitSection, *,
          allow_headwear: bool = False) -> tuple[dict[str, Any], Any]:
    """The report of ``image`` and the photo (``StandardPhoto`` or None); ``allow_headwear``: see ``Analyzer``."""
    from kiosk.portrait.analysis import Analyzer
    from kiosk.portrait.standard import FramingError, make_photo

    analyzer = Analyzer(settings, frame_guard=0.0)
    analysis = analyzer.analyse(image, allow_headwear=allow_headwear)
    report: dict[str, Any] = {"width": int(image.shape[1]), "height": int(image.shape[0])}
    report.update(analysis.to_json())
    reasons = [c.hint_key for c in analysis.failing() if c.hint_key]
    photo = None
    if analysis.face is not None:
        try:
            photo = make_photo(image, analysis, settings, detector=analyzer.detector, shapes=analyzer.shapes)
        except FramingError as exc:
            if exc.key not in reasons:
                reasons.append(exc.key)
    if photo is not None:
        geometry = photo.geometry
        for key in ("head_top_px", "eye_line_px", "face_width_px", "bytes", "quality"):
            report[key] = geometry[key]
        report["geometry"] = geometry
        if not geometry["size_in_band"]:
            reasons.append("portrait.error.file_size")
        if geometry["head_top_px"] is None and "portrait.hint.background" not in reasons:
            # the head top could not be found against the backdrop: not verifiable
            reasons.append("portrait.hint.background")
    report["compliant"] = photo is not None and not reasons
    report["reasons"] = [{"key": k, "zh": text(k, "zh"), "en": text(k, "en")} for k in dict.fromkeys(reasons)]
    return report, photo


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a reader never sees half a photo.

    Only a regular file (or a new path) is written: renaming over ``/dev/full`` would replace the device.
    """
    check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".portrait-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    """Run ``kiosk portrait``."""
    settings = config.load_station(args.config).portrait
    if args.background:
        settings = dataclasses.replace(settings, background=args.background)
    from kiosk.portrait.framing import OUT_H, OUT_W

    try:
        for out in (args.out, args.original):
            if out is not None:
                check_output(out)  # before the work: a device or a FIFO is never replaced
        image = read_image(args.image, round(OUT_W / settings.max_upscale), round(OUT_H / settings.max_upscale))
    except (ImageError, NotRegularFile) as exc:
        log.warning("portrait.bad_input key=%s", exc.key)
        print(exc.bilingual(), file=sys.stderr)
        return EXIT_BAD_INPUT
    report, photo = judge(image, settings, allow_headwear=args.allow_headwear)
    if report["compliant"] and photo is not None:
        for path, data in ((args.out, photo.jpeg), (args.original, photo.original_jpeg)):
            if path is None or data is None:
                continue
            try:
                _write(path, data)
            except NotRegularFile as exc:  # swapped for a special file while the photo was judged
                print(exc.bilingual(), file=sys.stderr)
                return EXIT_BAD_INPUT
            except OSError as exc:
                err = KioskError("portrait.error.cannot_write", str(exc), file=str(path),
                                 reason=exc.strerror or str(exc))
                print(err.bilingual(), file=sys.stderr)
                return EXIT_BAD_INPUT
        report["output"] = str(args.out) if args.out else None
    log.info("portrait.checked compliant=%s reasons=%d", report["compliant"], len(report["reasons"]))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_human(report)
    return EXIT_OK if report["compliant"] else EXIT_NOT_COMPLIANT


def _print_human(report: dict[str, Any]) -> None:
    for check in report["checks"]:
        mark = "ok " if check["passed"] else "NO "
        line = f"{mark} {check['name']:<18} {check['value']}"
        if check["hint"]:
            line += f"  {bilingual(check['hint'])}"
        print(line)
    if "head_top_px" in report:
        print(f"photo: head top {report['head_top_px']} px, eye line {report['eye_line_px']} px, "
              f"face width {report['face_width_px']} px, {report['bytes']} bytes, quality {report['quality']}")
    if report["compliant"]:
        print(bilingual("portrait.cli.compliant"))
    else:
        for reason in report["reasons"]:
            print(f"- {reason['zh']} / {reason['en']}")
        print(bilingual("portrait.cli.not_compliant"))
