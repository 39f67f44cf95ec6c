"""The standard photo meets the standard's numbers, measured here independently.

The output is measured with other tools than the code under test: another
face cascade (``alt2``) with other parameters for the face width, the eye
cascade on the output for the eye line, a plain scan of the top rows against
the backdrop for the head top, and Pillow plus the JPEG's own quantisation
tables for the file's properties.
"""

from __future__ import annotations

import io
from functools import cache

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from kiosk.config import PortraitSection
from kiosk.portrait import Analysis, Analyzer, FramingError, StandardPhoto, make_photo
from kiosk.portrait import jpeg as jpeg_module
from kiosk.scene import Pose, Scene

SETTINGS = PortraitSection()
_HAAR = cv2.data.haarcascades  # type: ignore[attr-defined]
# IJG's standard luminance quantisation table (quality 50), row by row as Pillow reports it
_IJG_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
             14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
             49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]


@cache
def _scene(w: int, h: int, background: str = "blue") -> Scene:
    return Scene(w, h, background)


def photo_of(frame: np.ndarray, settings: PortraitSection = SETTINGS) -> tuple[StandardPhoto, Analysis]:
    analysis = Analyzer(settings, frame_guard=0.0).analyse(frame)
    return make_photo(frame, analysis, settings), analysis


def measure(photo_jpeg: bytes) -> dict[str, float]:
    """Head top, eye line, face width and centre of a photo, found without the code under test."""
    rgb = np.asarray(Image.open(io.BytesIO(photo_jpeg)).convert("RGB"))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    faces = cv2.CascadeClassifier(_HAAR + "haarcascade_frontalface_alt2.xml").detectMultiScale(
        gray, scaleFactor=1.05, minNeighbors=4, minSize=(120, 120))
    assert len(faces) == 1, faces
    x, y, w, h = (int(v) for v in faces[0])
    upper = gray[y + h // 5: y + h // 2 + h // 10, x: x + w]
    eyes = []
    for name in ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml"):
        eyes = list(cv2.CascadeClassifier(_HAAR + name).detectMultiScale(
            upper, scaleFactor=1.05, minNeighbors=3, minSize=(w // 8, w // 8), maxSize=(w // 3, w // 3)))
        if eyes:
            break
    assert eyes, "no eye found on the output"
    eye_line = y + h // 5 + float(np.mean([ey + eh / 2 for _, ey, _, eh in eyes]))
    # head top: the first row, over the middle of the face, that is not backdrop
    backdrop = np.median(np.concatenate([rgb[:20, :20].reshape(-1, 3), rgb[:20, -20:].reshape(-1, 3)]), axis=0)
    columns = rgb[:, x + w // 3: x + 2 * w // 3].astype(np.int32)
    differs = (np.abs(columns - backdrop).max(axis=2) > 40).mean(axis=1) > 0.2
    head_top = float(np.argmax(differs))
    return {"face_width": float(w), "face_cx": x + w / 2, "eye_line": eye_line, "head_top": head_top}


def jpeg_quality(data: bytes) -> float:
    """The IJG quality factor the file's luminance table was scaled for."""
    table = Image.open(io.BytesIO(data)).quantization[0]  # type: ignore[attr-defined]
    ratio = float(np.mean([t / b for t, b in zip(table, _IJG_LUMA, strict=True)]))
    return (200 - 100 * ratio) / 2 if ratio <= 1 else 5000 / (100 * ratio)


@cache
def _astronaut_frame() -> np.ndarray:
    """skimage's astronaut (real hair, a second real face) cut out onto the blue backdrop.

    GrabCut is seeded with her head and torso; the 512 px photo is doubled so
    her face is as large as at a station, and set a little lower in a 4:3 frame.
    """
    data = pytest.importorskip("skimage.data")
    src = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    seed = np.full(src.shape[:2], cv2.GC_BGD, np.uint8)
    cv2.ellipse(seed, (226, 110), (80, 105), 0, 0, 360, cv2.GC_PR_FGD, -1)
    cv2.rectangle(seed, (60, 190), (360, 511), cv2.GC_PR_FGD, -1)
    cv2.ellipse(seed, (224, 115), (50, 70), 0, 0, 360, cv2.GC_FGD, -1)
    cv2.rectangle(seed, (195, 150), (255, 260), cv2.GC_FGD, -1)
    cv2.rectangle(seed, (150, 230), (300, 511), cv2.GC_FGD, -1)
    cv2.grabCut(src, seed, None, np.zeros((1, 65)), np.zeros((1, 65)), 4, cv2.GC_INIT_WITH_MASK)
    alpha = cv2.GaussianBlur(np.isin(seed, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32), (0, 0), 1.0)
    blue = np.empty_like(src)
    blue[:] = (255, 197, 100)
    person = (src * alpha[..., None] + blue * (1 - alpha[..., None])).astype(np.uint8)
    person = cv2.resize(person, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    frame = np.empty((1024, 1366, 3), np.uint8)
    frame[:] = (255, 197, 100)
    frame[150:, 171:1195] = person[:874]
    return frame


def test_photo_of_a_person_with_hair_meets_the_standard() -> None:
    frame = _astronaut_frame()
    photo, analysis = photo_of(frame)
    assert analysis.ok, analysis.failing()
    # her hair's top against the backdrop: row 15 of the source, doubled, 150 lower
    assert analysis.head_top is not None and abs(analysis.head_top - (150 + 2 * 15)) <= 8
    got = measure(photo.jpeg)
    assert 50 <= got["head_top"] <= 110 and 200 <= got["eye_line"] <= 300, got
    assert 180 <= got["face_width"] <= 300 and abs(got["face_cx"] - 240) <= 24, got
    assert abs(photo.geometry["head_top_px"] - got["head_top"]) <= 8


def test_hair_touching_the_frame_top_asks_to_move_down() -> None:
    frame = np.ascontiguousarray(_astronaut_frame()[178:])  # the hair now starts at the very top
    analysis = Analyzer(SETTINGS, frame_guard=0.0).analyse(frame)
    assert analysis.first_hint() == "portrait.hint.move_down"


COMPLIANT = [
    ((960, 540), Pose(dy=0.08, scale=0.85), "blue"),
    ((960, 540), Pose(dy=0.1, scale=0.7, dx=-0.1), "blue"),
    ((960, 540), Pose(dy=0.06, scale=1.0, dx=0.12), "blue"),
    ((1280, 720), Pose(dy=0.05), "blue"),
    ((1280, 720), Pose(dy=0.12, scale=0.7, roll=2), "blue"),
    ((1920, 1080), Pose(dy=0.08, scale=0.8), "blue"),
    ((960, 540), Pose(dy=0.08, scale=0.85), "white"),
]


@pytest.mark.parametrize(("size", "pose", "background"), COMPLIANT,
                         ids=["good", "small-left", "big-right", "720p", "720p-far", "1080p", "white"])
def test_photo_meets_the_standard(size: tuple[int, int], pose: Pose, background: str) -> None:
    frame = _scene(*size, background).render(pose)
    settings = PortraitSection(background=background)  # type: ignore[arg-type]
    photo, analysis = photo_of(frame, settings)
    assert analysis.ok, analysis.failing()
    got = measure(photo.jpeg)
    assert 50 <= got["head_top"] <= 110, got
    assert 200 <= got["eye_line"] <= 300, got
    assert 180 <= got["face_width"] <= 300, got
    assert abs(got["face_cx"] - 240) <= 24, got
    # what the photo says of itself agrees with the independent measure
    geometry = photo.geometry
    assert abs(geometry["head_top_px"] - got["head_top"]) <= 8
    assert abs(geometry["eye_line_px"] - got["eye_line"]) <= 20
    assert 50 <= geometry["head_top_px"] <= 110 and 200 <= geometry["eye_line_px"] <= 300
    assert 180 <= geometry["face_width_px"] <= 300


def test_jpeg_file_properties() -> None:
    photo, _ = photo_of(_scene(960, 540).render(Pose(dy=0.08, scale=0.85)))
    data = photo.jpeg
    assert SETTINGS.jpeg_min_kb * 1024 <= len(data) <= SETTINGS.jpeg_max_kb * 1024
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (480, 640) and image.mode == "RGB"
    assert image.info.get("jfif") and tuple(round(v) for v in image.info["dpi"]) == (300, 300)
    assert image.info.get("jfif_unit") == 1  # dots per inch
    assert "exif" not in image.info and b"Exif\x00\x00" not in data
    assert image.getexif() == {}
    profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
    assert "sRGB" in ImageCms.getProfileDescription(profile)
    assert jpeg_quality(data) >= 60 - 0.5
    assert abs(jpeg_quality(data) - photo.geometry["quality"]) <= 1.5
    assert photo.geometry["bytes"] == len(data)


def test_photo_is_never_mirrored() -> None:
    scene = _scene(960, 540)
    pose = Pose(dy=0.08, scale=0.85)
    frame = scene.render(pose)
    x, y, w, _ = scene.landmarks(pose).face
    # a red mark on the backdrop, on the image's left of the head
    mx, my = int(x - 0.3 * w), int(y + 0.2 * w)
    frame[my: my + 12, mx: mx + 12] = (0, 0, 255)
    photo, _ = photo_of(frame)
    for data, width in ((photo.jpeg, 480), (photo.original_jpeg, None)):
        assert data is not None
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
        rgb = rgb[: rgb.shape[0] * 9 // 20]  # the head's height, above the coat's ribbons
        red = (rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)
        xs = np.nonzero(red)[1]
        assert xs.size > 0
        assert xs.mean() < (width or rgb.shape[1]) / 2


def test_original_is_head_and_shoulders_at_camera_resolution() -> None:
    frame = _scene(1280, 720).render(Pose(dy=0.12, scale=0.7))
    photo, _ = photo_of(frame)
    assert photo.original_jpeg is not None
    original = Image.open(io.BytesIO(photo.original_jpeg))
    crop_w, crop_h = photo.geometry["crop"][2:]
    # not scaled: larger than the photo's crop, within the capture
    assert crop_w < original.size[0] <= 1280 and crop_h <= original.size[1] <= 720
    assert "exif" not in original.info


def test_no_original_when_not_kept() -> None:
    settings = PortraitSection(keep_original=False)
    photo, _ = photo_of(_scene(960, 540).render(Pose(dy=0.08, scale=0.85)), settings)
    assert photo.original_jpeg is None


@pytest.mark.parametrize(("pose", "hint"), [
    (Pose(dx=0.4, dy=0.08, scale=0.85), "portrait.hint.move_centre"),
    (Pose(dy=0.08, scale=1.6), "portrait.hint.step_back"),
    (Pose(dy=0.08, scale=0.45), "portrait.hint.closer"),
    (Pose(dy=0.3, scale=0.85), "portrait.hint.move_up"),
], ids=["edge", "close", "far", "low"])
def test_framing_error_instead_of_padding(pose: Pose, hint: str) -> None:
    frame = _scene(960, 540).render(pose)
    analysis = Analyzer(SETTINGS, frame_guard=0.0).analyse(frame)
    with pytest.raises(FramingError) as info:
        make_photo(frame, analysis, SETTINGS)
    assert info.value.key == hint
    assert info.value.message("zh") and info.value.message("en")


def test_no_face_is_a_framing_error() -> None:
    frame = _scene(960, 540).render(Pose(present=False))
    analysis = Analyzer(SETTINGS).analyse(frame)
    with pytest.raises(FramingError) as info:
        make_photo(frame, analysis, SETTINGS)
    assert info.value.key == "portrait.hint.no_face"


def test_quality_search_lands_in_the_band() -> None:
    rng = np.random.default_rng(1)
    smooth = cv2.GaussianBlur(rng.integers(0, 255, (640, 480, 3), dtype=np.uint8), (0, 0), 3)
    encoded = jpeg_module.encode_in_band(smooth, 20 * 1024, 40 * 1024)
    assert 60 <= encoded.quality <= 95
    assert len(encoded.data) <= 40 * 1024
    # one step of quality more would not fit (the search found the best)
    if encoded.quality < jpeg_module.MAX_QUALITY:
        assert len(jpeg_module.encode(smooth, encoded.quality + 1)) > 40 * 1024


def test_quality_floor_wins_over_size() -> None:
    noise = np.random.default_rng(2).integers(0, 255, (640, 480, 3), dtype=np.uint8)
    encoded = jpeg_module.encode_in_band(noise, 20 * 1024, 40 * 1024)
    assert encoded.quality == 60 and not encoded.in_band
    assert jpeg_quality(encoded.data) >= 59.5


def test_plain_image_is_small_but_best_quality() -> None:
    flat = np.full((640, 480, 3), 200, np.uint8)
    encoded = jpeg_module.encode_in_band(flat, 20 * 1024, 40 * 1024)
    assert encoded.quality == jpeg_module.MAX_QUALITY and not encoded.in_band


def _edge_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    scene = _scene(960, 540)
    frames = [np.zeros((64, 64, 3), np.uint8), np.full((100, 3000, 3), 255, np.uint8),
              rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), np.zeros((2000, 64, 3), np.uint8)]
    frames += [scene.render(Pose(dx=dx, dy=dy, scale=0.9)) for dx in (-0.55, 0.5) for dy in (-0.45, 0.6)]
    frames += [scene.render(Pose(scale=s)) for s in (3.5, 0.3)]
    return frames


def test_any_frame_gives_a_photo_or_a_hint_never_a_crash() -> None:
    for frame in _edge_frames():
        for guard in (0.0, 0.02):
            analysis = Analyzer(SETTINGS, frame_guard=guard).analyse(frame)
            assert analysis.ok or analysis.first_hint()
            try:
                photo = make_photo(frame, analysis, SETTINGS)
            except FramingError as exc:
                assert exc.key.startswith("portrait.")
            else:
                assert photo.jpeg[:2] == b"\xff\xd8"
