"""Face analysis of preview frames: detection, measurement, smoothing, the checks.

``Analyzer.analyse(frame)`` is what the portrait worker calls for every
preview frame it takes. It is stateful only for smoothing: measurements are
smoothed over time (``[portrait] smoothing_s``) so that a hint does not
flicker between frames; ``reset()`` forgets the history when a new person
steps up. A still (``kiosk portrait``) is one fresh ``Analyzer``'s first frame.

Faces are found on a copy downscaled to ``detect_width`` and then followed
from frame to frame (``tracking.py``); the face mesh (eyes, cheek width,
pose, eyes and mouth open) and the light on the face cut from the full frame;
the head top, the crown (headwear) and the backdrop on downscaled colour
copies, the backdrop only where it will be inside the photo's crop.

What every frame measures and what a followed face measures at a lower rate
(the crown, the backdrop and clothing, the search for a second person) is
``schedule.py``'s choice: at most one of the slower measures per frame. A
face just found takes every measure at once, so a still (and the standard
photo's check of its capture) is judged on all of them.
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from kiosk.config import PortraitSection
from kiosk.errors import KioskError
from kiosk.portrait import background as bg
from kiosk.portrait.checks import MAX_BACKDROP_GRADIENT, Check, Measures, judge
from kiosk.portrait.copies import FrameCopies
from kiosk.portrait.face import Box, Eyes, FaceDetector
from kiosk.portrait.framing import OUT_H, OUT_W, Landmarks, Plan, plan_crop
from kiosk.portrait.headwear import crown_score
from kiosk.portrait.mouth import mouth_darkness
from kiosk.portrait.photometry import FaceLight, FaceLook, face_patch, measure_light, measure_look
from kiosk.portrait.schedule import Schedule
from kiosk.portrait.shape import FaceShape, ShapeMeasures, ShapeModel
from kiosk.portrait.smoothing import Smoother
from kiosk.portrait.tracking import Follower

log = logging.getLogger(__name__)

#: frames smaller than this are not analysed
MIN_FRAME = (64, 64)
#: nor frames with a longer side: OpenCV's warps stop below 32768, and a narrow strip this
#: long would shrink to no rows at all in the detection copy (a 200-megapixel photo is 16320 wide)
MAX_FRAME_SIDE = 20_000
#: a face this far from the last one (in face widths) is a new person: no smoothing across
NEW_PERSON_JUMP = 0.5
#: live guidance keeps the crop this share of the frame inside its edges
LIVE_FRAME_GUARD = 0.02
#: the Haar box is about this many times the cheek-to-cheek width (when landmarks are missing)
BOX_PER_FACE_WIDTH = 1.2
#: the backdrop's evenness and colour are measured on a copy this wide (a pixel of it is 5-6 of the
#: photo's: a pole a few photo pixels inside the crop still tints a column of it)
BACKDROP_WIDTH = 240
#: the crown (headwear) is judged with the face scaled to this width (pixels)
CROWN_FACE_WIDTH = 90.0
#: the slower measures (``schedule.PERIODS``) are held this long between two turns
SLOW_HOLD_S = 1.0
#: the slower measures taken on a frame (``Analysis.fresh``) and the checks judged on them
SLOW_CHECKS = {"crown": ("headwear",), "backdrop": ("background", "backdrop_light", "background_colour", "clothing")}


class BadFrame(KioskError):
    """A frame that cannot be analysed (not a colour image, too small)."""

    default_key = "portrait.error.bad_frame"


@dataclass(frozen=True)
class Analysis:
    """The checks of one frame and what they were judged on."""

    checks: list[Check]
    face: Box | None = None
    eyes: Eyes | None = None
    head_top: float | None = None
    plan: Plan | None = None
    shape: ShapeMeasures | None = None
    #: the unsmoothed sharpness of this very frame (auto-capture keeps the sharpest)
    sharpness: float = 0.0
    measures: Measures | None = field(default=None, repr=False)
    #: the operator allowed headwear for this capture (``make_photo`` judges its capture alike)
    allow_headwear: bool = False
    #: the slower measures taken on this very frame (the others' values are held from earlier frames)
    fresh: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        """All checks passed (and there is a face to photograph)."""
        return bool(self.checks) and all(c.passed for c in self.checks) and self.face is not None

    def first_hint(self) -> str | None:
        """The hint of the first failing check, None when all pass."""
        for check in self.checks:
            if not check.passed:
                return check.hint_key
        return None

    def failing(self) -> list[Check]:
        """The checks that failed, in hint order."""
        return [c for c in self.checks if not c.passed]

    def to_json(self) -> dict[str, Any]:
        """The analysis as a JSON-ready dict."""
        out: dict[str, Any] = {"ok": self.ok, "hint": self.first_hint(),
                               "checks": [c.to_json() for c in self.checks]}
        if self.face is not None:
            out["face"] = self.face.as_list()
        if self.eyes is not None:
            out["eyes"] = [round(v, 1) for v in (*self.eyes.left, *self.eyes.right)]
        if self.head_top is not None:
            out["head_top"] = round(self.head_top, 1)
        if self.shape is not None:
            g = self.shape
            out["face_width"] = round(g.width, 1)
            # what the face mesh measured (``shape.ShapeMeasures``): pose in degrees, openings as ratios
            out["landmarks"] = {"face_width": round(g.width, 1), "face_centre_x": round(g.centre_x, 1),
                                "chin_y": round(g.chin_y, 1), "forehead_y": round(g.forehead_y, 1),
                                "yaw_deg": round(g.yaw, 1), "pitch_deg": round(g.pitch, 1),
                                "eye_open": [round(g.eye_open_left, 3), round(g.eye_open_right, 3)],
                                "mouth_open": round(g.mouth_open, 3), "mouth_dark": round(g.mouth_dark, 3)}
            if self.eyes is not None:
                out["landmarks"]["tilt_deg"] = round(self.eyes.angle_deg, 1)
        if self.plan is not None and self.plan.crop is not None:
            crop = self.plan.crop
            out["photo"] = {"head_top_px": None if crop.head_top_px != crop.head_top_px else round(crop.head_top_px, 1),
                            "eye_line_px": round(crop.eye_line_px, 1), "face_width_px": round(crop.face_width_px, 1)}
        return out


def check_frame(frame: Any) -> None:
    """Raise ``BadFrame`` unless ``frame`` is a BGR uint8 image of a usable size."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise BadFrame(detail="not a BGR uint8 image")
    if frame.shape[0] < MIN_FRAME[1] or frame.shape[1] < MIN_FRAME[0]:
        raise BadFrame("portrait.error.too_small", detail=f"{frame.shape[1]}x{frame.shape[0]}",
                       width=frame.shape[1], height=frame.shape[0])
    if max(frame.shape[:2]) > MAX_FRAME_SIDE:
        raise BadFrame("portrait.error.too_large", detail=f"{frame.shape[1]}x{frame.shape[0]}",
                       width=frame.shape[1], height=frame.shape[0], limit=MAX_FRAME_SIDE)


class Analyzer:
    """Analyses preview frames; keeps a short history to smooth the measurements."""

    def __init__(self, settings: PortraitSection, frame_guard: float = LIVE_FRAME_GUARD, *,
                 detector: FaceDetector | None = None, shapes: ShapeModel | None = None) -> None:
        self.settings = settings
        self.frame_guard = frame_guard
        # a detector is not shared between threads (OpenCV's cascade keeps per-search state)
        self.detector = detector or FaceDetector()
        self.shapes = shapes or ShapeModel()
        self._reference = bg.reference_lab(settings.background)
        self._smooth = Smoother(settings.smoothing_s, hold_s=0.3)
        self._schedule = Schedule()
        self._faces = Follower(self.detector, self.shapes, self._schedule)
        self._clock = 0.0
        self._backdrop_model: bg.Backdrop | None = None  # this frame's backdrop colour
        self._tiny_lab: np.ndarray | None = None  # this frame's backdrop-sized Lab copy
        self._frame_w = 0  # width of the frame being analysed

    def reset(self) -> None:
        """Forget the smoothing history (a new person, or after a photo)."""
        self._smooth.reset()
        self._faces.forget()
        self._backdrop_model = None
        self._tiny_lab = None

    def analyse(self, frame_bgr: np.ndarray, now: float | None = None, *, allow_headwear: bool = False) -> Analysis:
        """The checks of ``frame_bgr``; ``now`` (seconds, monotonic) keys the smoothing.

        Without ``now`` the frame counts as 1/30 s after the previous one.
        ``allow_headwear``: the operator has allowed religious or medical
        headwear for this capture; the headwear check is still measured and
        reported, but passes (the caller audits the decision).
        """
        check_frame(frame_bgr)
        # without a time, one frame at 30 fps after the last one seen
        self._clock = self._clock + 1 / 30 if now is None else max(self._clock, now)
        now = self._clock
        h, w = frame_bgr.shape[:2]
        self._frame_w = w
        copies = FrameCopies(frame_bgr, self.settings.detect_width)
        # at most one slower measure on a followed face; a face found afresh takes them all
        task = self._schedule.pick(now, self._faces.last) if self._faces.following else None
        faces = self._faces.find(copies, now, task)
        if len(faces) > 1:
            self._smooth.reset()
            self._faces.forget()
            return Analysis([Check("face", False, float(len(faces)), "portrait.hint.one_person")],
                            measures=Measures(w, h, len(faces)), allow_headwear=allow_headwear)
        raw_face, shape, gray, (ox, oy) = self._faces.measure(frame_bgr, faces[0], now) if faces else (
            None, None, None, (0, 0))
        face = self._track_face(raw_face, now)
        if face is None:
            return Analysis([Check("face", False, 0.0, "portrait.hint.no_face")], measures=Measures(w, h, 0),
                            allow_headwear=allow_headwear)
        eyes = self._track_eyes(shape.eyes if shape is not None else None, now)
        raw_shape = None
        if shape is not None:
            dark = mouth_darkness(gray, shape.mesh - (ox, oy, 0)) if gray is not None else 1.0
            raw_shape = ShapeMeasures.of(shape, dark)
        geometry = self._track("shape", raw_shape, ShapeMeasures, now)
        # a face held over a missed detection is not measured again: the
        # pixels where it was may be anything now; the last measures stand
        held = gray is None
        slow = self._slow_now(task, raw_face, held=held, now=now)
        raw_light = raw_look = None
        if gray is not None:
            patch = face_patch(gray, _moved(face, -ox, -oy))
            raw_light = measure_light(patch) if patch is not None else None
            if shape is not None:
                raw_look = measure_look(gray, shape.points - (ox, oy))
        light = self._track("light", raw_light, FaceLight, now)
        look = self._track("look", raw_look, FaceLook, now)
        top, crown = self._head(copies, face, shape=shape, held=held, slow=slow, now=now)
        plan = plan_crop(w, h, landmarks(face, eyes, top, geometry), self.settings.max_upscale, self.frame_guard)
        bd, clothing = self._backdrop(frame_bgr, face, top=top, geometry=geometry, plan=plan, slow="backdrop" in slow,
                                      now=now)
        if bd is not None and bd.gradient > MAX_BACKDROP_GRADIENT:
            # on a busy backdrop the first "non-backdrop" pixel is anything
            top = None
            plan = plan_crop(w, h, landmarks(face, eyes, None, geometry), self.settings.max_upscale,
                             self.frame_guard)
        m = Measures(w, h, 1, face, eyes, top, top is not None, light, bd, clothing, plan, geometry, look, crown)
        if allow_headwear:
            log.info("portrait.headwear_allowed crown=%s", None if crown is None else round(crown, 3))
        return Analysis(judge(m, self.settings.tilt_max_deg, allow_headwear=allow_headwear), face, eyes, top, plan,
                        geometry, raw_light.sharpness if raw_light else 0.0, m, allow_headwear, frozenset(slow))

    def _slow_now(self, task: str | None, face: Box | None, *, held: bool, now: float) -> set[str]:
        """The slower measures this frame takes: all on a face just found, else the schedule's pick.

        A measure whose last value was taken where the face no longer is
        starts afresh (its old value is dropped, not averaged in).
        """
        if held:
            return set()
        if not self._faces.tracked:
            self._schedule.all_done(now, face)
            for name in ("crown", "backdrop", "clothing"):
                self._smooth.reset(name)
            return set(SLOW_CHECKS)
        if task not in SLOW_CHECKS:
            return set()
        if self._schedule.done(task, now, face):
            for name in ("crown",) if task == "crown" else ("backdrop", "clothing"):
                self._smooth.reset(name)
        return {task}

    def _head(self, copies: FrameCopies, face: Box, *, shape: FaceShape | None, held: bool, slow: set[str],
              now: float) -> tuple[float | None, float | None]:
        """Head top (frame pixels) and crown score (headwear), smoothed.

        The backdrop's colour (its top corners) is taken with the backdrop
        measures (``slow``) and stands in between: it changes with the
        camera's exposure, not from one frame to the next.
        """
        top_raw = crown_raw = None
        if not held:
            k = copies.k
            w, h = copies.size
            if "backdrop" in slow or self._backdrop_model is None:
                kt = min(1.0, BACKDROP_WIDTH / (w / k))
                tiny = cv2.resize(copies.small, (max(1, round(w / k * kt)), max(1, round(h / k * kt))),
                                  interpolation=cv2.INTER_AREA)
                self._tiny_lab = bg.to_lab(tiny)
                self._backdrop_model = bg.estimate_backdrop(self._tiny_lab)
            backdrop = self._backdrop_model
            # the head top wants the finer copy, but only the columns over the face and, for the
            # backdrop of each row, the strips beside the head
            x0 = max(0, int((face.cx - face.w * 0.3) * k))
            x1 = min(w, int((face.cx + face.w * 0.3) * k) + 1)
            y1 = min(h, int(bg.head_band(face)[2] * k) + 1)
            band = bg.to_lab(copies.small_region(x0, 0, x1, y1))
            cols = bg.side_columns(face, k, w)
            strips = [copies.small_region(c0, 0, c1 + 1, y1) for c0, c1 in _runs(cols)]
            sides = bg.to_lab(np.concatenate(strips, axis=1)) if strips else None
            top_raw = bg.head_top(band, Box(face.x - x0 / k, face.y, face.w, face.h), backdrop, k, sides)
            if shape is not None and "crown" in slow:
                crown_raw = self._crown(copies.frame, shape, top_raw, backdrop)
        top_t = self._smooth.update("head_top", None if top_raw is None else (top_raw,), now)
        crown_t = self._smooth.update("crown", None if crown_raw is None else (crown_raw,), now, SLOW_HOLD_S)
        return (top_t[0] if top_t else None), (crown_t[0] if crown_t else None)

    @staticmethod
    def _crown(frame: np.ndarray, shape: FaceShape, top: float | None, backdrop: bg.Backdrop) -> float | None:
        """The crown score on the head cut from the frame, scaled to ``CROWN_FACE_WIDTH``."""
        k = min(1.0, CROWN_FACE_WIDTH / max(1.0, shape.width))
        pts = shape.points
        h, w = frame.shape[:2]
        x0, x1 = max(0, int(pts[:, 0].min() - 0.3 * shape.width)), min(w, int(pts[:, 0].max() + 0.3 * shape.width) + 1)
        y0 = max(0, int((top if top is not None else pts[:, 1].min() - shape.width) - 2))
        y1 = min(h, int(pts[36:48, 1].max()) + 2)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        region = cv2.resize(frame[y0:y1, x0:x1], (max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k))),
                            interpolation=cv2.INTER_AREA)
        local = (pts - (x0, y0)) * k
        return crown_score(bg.to_lab(region), local, None if top is None else (top - y0) * k, backdrop.lab)

    def _backdrop(self, frame: np.ndarray, face: Box, *, top: float | None, geometry: ShapeMeasures | None,
                  plan: Plan, slow: bool, now: float) -> tuple[bg.BackdropMeasures | None, float | None]:
        """Backdrop measures inside the photo's crop, and the clothing share (smoothed)."""
        bd_raw = clothing_raw = None
        backdrop, tiny_lab = self._backdrop_model, self._tiny_lab
        if slow and backdrop is not None and tiny_lab is not None:
            # the Lab copy is BACKDROP_WIDTH wide (or the frame, if narrower)
            kt = tiny_lab.shape[1] / (self._frame_w or tiny_lab.shape[1])
            width = geometry.width if geometry is not None else face.w / BOX_PER_FACE_WIDTH
            cx = geometry.centre_x if geometry is not None else face.cx
            chin = geometry.chin_y if geometry is not None else face.y + face.h
            crop = _photo_region(plan, cx, face, width)
            head = bg.Head(cx, top if top is not None else face.y - 0.2 * face.h, chin, width)
            mask = bg.backdrop_mask(tiny_lab.shape[:2], head, crop, kt)
            bd_raw = bg.measure_backdrop(tiny_lab, mask, self._reference, backdrop, crop[2] * crop[3] * kt * kt)
            if bd_raw is not None:
                bd_raw = replace(bd_raw, edge=bg.edge_foreign(frame, crop, head, backdrop))
            clothing_raw = bg.clothing_share(tiny_lab, face, backdrop.lab, kt)
        bd = self._track("backdrop", bd_raw, bg.BackdropMeasures, now, SLOW_HOLD_S)
        clothing_t = self._smooth.update("clothing", None if clothing_raw is None else (clothing_raw,), now,
                                         SLOW_HOLD_S)
        return bd, clothing_t[0] if clothing_t else None

    def _track_face(self, face: Box | None, now: float) -> Box | None:
        """The smoothed face; a face far from the last one is a new person and starts afresh."""
        last = self._smooth.peek("face", now)
        if face is None:
            return Box(*last) if last else None
        if last is not None:
            lx, _, lw, _ = last
            if abs(lx + lw / 2 - face.cx) > NEW_PERSON_JUMP * lw or abs(lw - face.w) > NEW_PERSON_JUMP * lw:
                self._smooth.reset()
        return Box(*self._smooth.update("face", (face.x, face.y, face.w, face.h), now) or ())

    def _track_eyes(self, eyes: Eyes | None, now: float) -> Eyes | None:
        """The smoothed eyes (held briefly when missed)."""
        value = None if eyes is None else (*eyes.left, *eyes.right)
        got = self._smooth.update("eyes", value, now)
        return Eyes((got[0], got[1]), (got[2], got[3])) if got else None

    def _track(self, name: str, value: Any, cls: Any, now: float, hold_s: float | None = None) -> Any:
        """A measures dataclass of floats (and float tuples), smoothed field by field."""
        flat: tuple[float, ...] | None = None
        if value is not None:
            flat = tuple(float(x) for v in astuple(value) for x in (v if isinstance(v, tuple) else (v,)))
        got = self._smooth.update(name, flat, now, hold_s)
        if got is None:
            return None
        if cls is bg.BackdropMeasures:
            return bg.BackdropMeasures(got[0], got[1], got[2], got[3], got[4], (got[5], got[6], got[7]), got[8],
                                       got[9])
        return cls(*got)


def landmarks(face: Box, eyes: Eyes | None, head_top: float | None,
              shape: ShapeMeasures | None = None) -> Landmarks:
    """What the crop plan needs, from a face, its eyes and width (landmarks, if found) and the head top.

    The face width is the cheek-to-cheek width of the landmarks; without
    them, the Haar box's width divided by how much wider it is measured to be.
    """
    width = shape.width if shape is not None else face.w / BOX_PER_FACE_WIDTH
    cx = shape.centre_x if shape is not None else face.cx
    eye_y = eyes.line_y if eyes is not None else face.y + 0.4 * face.h
    return Landmarks(width, cx, eye_y, head_top)


def _photo_region(plan: Plan, cx: float, face: Box, width: float) -> tuple[float, float, float, float]:
    """The rectangle the photo will be cut from (x, y, w, h), or the usual one around the face."""
    if plan.crop is not None:
        return plan.crop.x, plan.crop.y, plan.crop.w, plan.crop.h
    # no crop yet (the person is still moving into place): the photo's
    # proportions at the middle of the face-width band
    scale = 240.0 / width
    cw, ch = OUT_W / scale, OUT_H / scale
    return cx - cw / 2, face.y + 0.4 * face.h - 250.0 / scale, cw, ch


def _runs(cols: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs (first, last) of sorted column indices."""
    out: list[tuple[int, int]] = []
    for c in cols:
        if out and c == out[-1][1] + 1:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return out


def _moved(box: Box, dx: float, dy: float) -> Box:
    return Box(box.x + dx, box.y + dy, box.w, box.h)
