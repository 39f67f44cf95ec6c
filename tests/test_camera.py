"""Frame sources: USB configuration (with a fake driver), files, the demo camera, choosing one, the probe."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest
import qr_frames as qf
import zxingcpp

from kiosk.camera import (
    CameraLost,
    CameraNotFound,
    DemoCamera,
    FileSource,
    FrameSource,
    UsbCamera,
    open_source,
    probe,
)
from kiosk.camera import usb as camera_mod
from kiosk.camera.files import decode_image
from kiosk.config import CameraSection
from kiosk.scene import Pose, Scene
from kiosk.text import table


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeCapture:
    """Stands in for ``cv2.VideoCapture``: remembers what was asked, reads scripted frames."""

    instances: ClassVar[list[FakeCapture]] = []
    openable: ClassVar[set[Any]] = {0}
    script: ClassVar[list[bool]] = []  # per read: True = a frame, False = a failed read
    frame_size = (720, 1280)

    def __init__(self, device: Any, backend: int | None = None) -> None:
        self.device, self.backend = device, backend
        self.calls: list[tuple[int, float]] = []
        self.props: dict[int, float] = {}
        self.released = False
        self.reads = 0
        FakeCapture.instances.append(self)

    def isOpened(self) -> bool:
        return self.device in FakeCapture.openable

    def set(self, prop: int, value: float) -> bool:
        self.calls.append((prop, value))
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FRAME_HEIGHT:
            return float(self.frame_size[0])
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            return float(self.frame_size[1])
        return self.props.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray | None]:
        self.reads += 1
        ok = FakeCapture.script.pop(0) if FakeCapture.script else True
        if not ok:
            return False, None
        return True, np.full((*self.frame_size, 3), self.reads % 256, np.uint8)

    def release(self) -> None:
        self.released = True


@pytest.fixture(autouse=True)
def fake_capture() -> Any:
    FakeCapture.instances = []
    FakeCapture.openable = {0}
    FakeCapture.script = []
    FakeCapture.frame_size = (720, 1280)
    return FakeCapture


def props_in_order(cap: FakeCapture) -> list[int]:
    return [p for p, _ in cap.calls]


# --- USB -------------------------------------------------------------------


def test_usb_camera_asks_for_mjpg_size_rate_and_a_one_frame_buffer() -> None:
    cam = UsbCamera(CameraSection(source="0", width=1280, height=720, fps=30), capture_factory=FakeCapture)
    cam.open()
    cap = FakeCapture.instances[0]
    assert cap.device == 0 and cap.backend == cv2.CAP_V4L2
    order = props_in_order(cap)
    assert cap.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter.fourcc(*"MJPG")
    assert order.index(cv2.CAP_PROP_FOURCC) < order.index(cv2.CAP_PROP_FRAME_WIDTH)
    assert cap.props[cv2.CAP_PROP_FRAME_WIDTH] == 1280 and cap.props[cv2.CAP_PROP_FRAME_HEIGHT] == 720
    assert cap.props[cv2.CAP_PROP_FPS] == 30
    assert cap.props[cv2.CAP_PROP_BUFFERSIZE] == 1
    assert cap.props[cv2.CAP_PROP_AUTO_EXPOSURE] == UsbCamera.AUTO_EXPOSURE
    assert cv2.CAP_PROP_EXPOSURE not in cap.props
    assert cap.props[cv2.CAP_PROP_AUTO_WB] == 1
    assert cam.actual == (1280, 720, 30.0)
    assert cam.name == "usb:0"
    assert isinstance(cam, FrameSource)


def test_usb_camera_warns_when_the_driver_refuses_mjpg(caplog: pytest.LogCaptureFixture) -> None:
    class Yuyv(FakeCapture):
        def get(self, prop: int) -> float:
            if prop == cv2.CAP_PROP_FOURCC:
                return float(cv2.VideoWriter.fourcc(*"YUYV"))
            return super().get(prop)

    UsbCamera(CameraSection(source="0"), capture_factory=Yuyv).open()
    assert "camera.not_mjpg" in caplog.text and "YUYV" in caplog.text


def test_usb_camera_manual_exposure_and_white_balance_without_mjpg() -> None:
    settings = CameraSection(source="0", mjpg=False, exposure=156.0, white_balance=4600)
    cam = UsbCamera(settings, capture_factory=FakeCapture)
    cam.open()
    cap = FakeCapture.instances[0]
    assert cv2.CAP_PROP_FOURCC not in cap.props
    assert cap.props[cv2.CAP_PROP_AUTO_EXPOSURE] == UsbCamera.MANUAL_EXPOSURE
    assert cap.props[cv2.CAP_PROP_EXPOSURE] == 156.0
    order = props_in_order(cap)
    assert order.index(cv2.CAP_PROP_AUTO_EXPOSURE) < order.index(cv2.CAP_PROP_EXPOSURE)
    assert cap.props[cv2.CAP_PROP_AUTO_WB] == 0
    assert cap.props[cv2.CAP_PROP_WB_TEMPERATURE] == 4600


def test_a_mirroring_camera_is_flipped_back() -> None:
    class Marked(FakeCapture):
        def read(self) -> tuple[bool, np.ndarray | None]:
            ok, frame = super().read()
            assert frame is not None
            frame[:, :10] = 255  # a bright stripe on the image's left
            return ok, frame

    plain = UsbCamera(CameraSection(source="0"), capture_factory=Marked)
    plain.open()
    assert plain.read()[:, :10].min() == 255
    flipped = UsbCamera(CameraSection(source="0", mirrored=True), capture_factory=Marked)
    flipped.open()
    frame = flipped.read()
    assert frame[:, -10:].min() == 255 and frame[:, :10].max() < 255


def test_usb_camera_opens_a_device_path(tmp_path: Path) -> None:
    node = tmp_path / "video7"
    node.touch()
    FakeCapture.openable = {str(node)}
    cam = UsbCamera(CameraSection(source=str(node)), capture_factory=FakeCapture)
    cam.open()
    assert FakeCapture.instances[0].device == str(node)
    cam.open()  # idempotent
    assert len(FakeCapture.instances) == 1


def test_usb_camera_missing_path_and_refusing_device() -> None:
    with pytest.raises(CameraNotFound) as missing:
        UsbCamera(CameraSection(source="/dev/v4l/by-id/usb-none-video-index0"), capture_factory=FakeCapture).open()
    assert missing.value.key == "camera.not_found"
    assert "usb-none" in missing.value.message("en")
    with pytest.raises(CameraNotFound) as refused:
        UsbCamera(CameraSection(source="3"), capture_factory=FakeCapture).open()
    assert refused.value.key == "camera.open_failed"
    assert FakeCapture.instances[-1].released


def test_usb_camera_read_survives_a_glitch_and_reports_a_loss() -> None:
    cam = UsbCamera(CameraSection(source="0"), capture_factory=FakeCapture)
    with pytest.raises(CameraLost):
        cam.read()  # not open
    cam.open()
    FakeCapture.script = [False, True]
    assert cam.read().shape == (720, 1280, 3)
    FakeCapture.script = [False, False, False]
    with pytest.raises(CameraLost):
        cam.read()
    cam.close()
    assert FakeCapture.instances[0].released
    cam.close()  # twice is harmless


# --- files -----------------------------------------------------------------


def write_video(path: Path, frames: int = 5, size: tuple[int, int] = (160, 120)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, size)
    assert writer.isOpened()
    for i in range(frames):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        img[:] = (40 * i, 255 - 40 * i, 100)
        writer.write(img)
    writer.release()


def test_file_source_loops_a_video_at_its_pace(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    write_video(video)
    clock = FakeClock()
    source = FileSource(video, fps=20, clock=clock, sleep=clock.sleep)
    source.open()
    frames = [source.read() for _ in range(12)]
    assert all(f.shape == (120, 160, 3) for f in frames)
    means = [float(f[..., 0].mean()) for f in frames]
    assert means[1] > means[0] + 20  # the video moves
    assert means[5] == pytest.approx(means[0], abs=3)  # and starts again after 5 frames
    assert clock.sleeps and all(s == pytest.approx(0.05) for s in clock.sleeps)
    assert len(clock.sleeps) == 11
    source.close()
    with pytest.raises(CameraLost):
        source.read()


def test_file_source_repeats_an_image(tmp_path: Path) -> None:
    image = tmp_path / "still.png"
    cv2.imwrite(str(image), Scene(320, 240).render(Pose()))
    clock = FakeClock()
    source = FileSource(image, fps=10, clock=clock, sleep=clock.sleep)
    source.open()
    a, b = source.read(), source.read()
    assert a.shape == (240, 320, 3) and np.array_equal(a, b) and a is not b
    assert clock.sleeps == [pytest.approx(0.1)]


def test_file_source_refuses_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(CameraNotFound) as missing:
        FileSource(tmp_path / "nope.mp4").open()
    assert missing.value.key == "camera.file_missing"
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(CameraNotFound) as bad:
        FileSource(junk).open()
    assert bad.value.key == "camera.file_unreadable"
    junk_video = tmp_path / "junk.mp4"
    junk_video.write_bytes(b"\x00" * 100)
    with pytest.raises(CameraNotFound) as bad_video:
        FileSource(junk_video).open()
    assert bad_video.value.key == "camera.file_unreadable"


# --- the demo camera ----------------------------------------------------------


def demo(clock: FakeClock, **kw: Any) -> DemoCamera:
    settings = CameraSection(source="demo", width=640, height=360, fps=25, **kw)
    cam = DemoCamera(settings, clock=clock, sleep=clock.sleep)
    cam.open()
    return cam


def test_demo_camera_frames_move_over_time_at_the_configured_rate() -> None:
    clock = FakeClock()
    cam = demo(clock)
    frames = [cam.read() for _ in range(3)]
    assert frames[0].shape == (360, 640, 3)
    assert not np.array_equal(frames[0], frames[2])
    assert clock.sleeps == [pytest.approx(0.04), pytest.approx(0.04)]
    # Still: frames differ only by the slight natural motion (a few pixels).
    diff = np.abs(frames[0].astype(int) - frames[2].astype(int)).mean()
    assert 0 < diff < 8


def test_demo_camera_holds_up_a_decodable_code() -> None:
    clock = FakeClock()
    cam = demo(clock)
    text = "KIOSK-REF1." + "AbC123" * 20
    cam.show_code(text)
    assert cam.code == text
    for _ in range(3):
        found = zxingcpp.read_barcodes(cam.read(), formats=zxingcpp.BarcodeFormat.QRCode)
        assert [r.text for r in found] == [text]
        clock.sleep(0.37)
    cam.show_code(None)
    assert zxingcpp.read_barcodes(cam.read()) == []


def test_demo_camera_set_pose_moves_the_person() -> None:
    clock = FakeClock()
    cam = DemoCamera(CameraSection(source="demo", width=640, height=360), motion=0.0, clock=clock, sleep=clock.sleep)
    cam.open()
    centred = cam.read()
    pose = cam.set_pose(dx=-0.2, scale=0.8)
    assert pose == Pose(dx=-0.2, scale=0.8) and cam.pose == pose
    moved = cam.read()
    assert np.array_equal(centred, cam.scene.render(Pose(), t=0.0))
    assert np.array_equal(moved, cam.scene.render(pose, t=clock.now - 1000.0))
    cam.set_pose(Pose(present=False))
    assert cam.pose.present is False


def test_demo_camera_unplug_and_replug() -> None:
    clock = FakeClock()
    cam = demo(clock)
    cam.read()
    cam.unplug()
    with pytest.raises(CameraLost):
        cam.read()
    cam.close()
    with pytest.raises(CameraNotFound):
        cam.open()
    cam.replug()
    cam.open()
    assert cam.read().shape == (360, 640, 3)


def test_demo_camera_uses_the_configured_backdrop() -> None:
    cam = DemoCamera(CameraSection(source="demo", width=320, height=240, demo_background="white"))
    assert cam.scene.background == "white"


# --- choosing a source --------------------------------------------------------


def test_auto_takes_the_first_usb_camera_that_opens() -> None:
    FakeCapture.openable = {2}
    source = open_source(CameraSection(source="auto"), capture_factory=FakeCapture, candidates=lambda: [0, 2])
    assert isinstance(source, UsbCamera) and source.device == 2
    assert FakeCapture.instances[0].released  # the one that did not open was let go


def test_auto_falls_back_to_the_demo_camera() -> None:
    FakeCapture.openable = set()
    source = open_source(CameraSection(source="auto", width=320, height=240), capture_factory=FakeCapture,
                         candidates=lambda: [0, 1])
    assert isinstance(source, DemoCamera)
    assert source.read().shape == (240, 320, 3)
    assert isinstance(open_source(CameraSection(source="auto", width=320, height=240), candidates=list),
                      DemoCamera)


def test_named_sources(tmp_path: Path) -> None:
    assert isinstance(open_source(CameraSection(source="demo", width=320, height=240)), DemoCamera)
    usb = open_source(CameraSection(source="0"), capture_factory=FakeCapture)
    assert isinstance(usb, UsbCamera) and usb.device == 0
    image = tmp_path / "p.jpg"
    cv2.imwrite(str(image), np.zeros((50, 60, 3), np.uint8))
    file_source = open_source(CameraSection(source=str(image)))
    assert isinstance(file_source, FileSource) and file_source.read().shape == (50, 60, 3)


@pytest.mark.parametrize(("source", "key"), [
    ("/dev/video9", "camera.not_found"),
    ("5", "camera.open_failed"),
    ("/nowhere/clip.mp4", "camera.file_missing"),
    ("  ", "camera.not_found"),
])
def test_a_missing_named_device_is_a_clear_error(source: str, key: str) -> None:
    with pytest.raises(CameraNotFound) as err:
        open_source(CameraSection(source=source), capture_factory=FakeCapture)
    assert err.value.key == key
    assert err.value.key in table()


def test_usb_candidates_prefer_stable_names(monkeypatch: pytest.MonkeyPatch) -> None:
    links = {"/dev/v4l/by-id/usb-Cam_123-video-index0": "/dev/video2",
             "/dev/v4l/by-id/usb-Cam_123-video-index1": "/dev/video3"}

    def fake_glob(pattern: str) -> list[str]:
        if pattern.startswith("/dev/v4l/by-id"):
            return list(links)
        return ["/dev/video10", "/dev/video2", "/dev/video0", "/dev/video3"]

    monkeypatch.setattr(camera_mod.glob, "glob", fake_glob)
    monkeypatch.setattr(camera_mod.os.path, "realpath", lambda p: links.get(p, p))
    assert camera_mod.usb_candidates() == ["/dev/v4l/by-id/usb-Cam_123-video-index0", "/dev/video0",
                                           "/dev/video3", "/dev/video10"]


def test_reopening_uses_the_stable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    link = "/dev/v4l/by-id/usb-Cam_123-video-index0"
    node = {link: "/dev/video0"}
    monkeypatch.setattr(camera_mod.glob, "glob", lambda pattern: [link] if "by-id" in pattern else [])
    monkeypatch.setattr(camera_mod.os.path, "realpath", lambda p: node.get(p, p))
    monkeypatch.setattr(camera_mod.os.path, "exists", lambda p: True)
    FakeCapture.openable = {0, "/dev/video2"}
    cam = UsbCamera(CameraSection(source="0"), capture_factory=FakeCapture)
    cam.open()
    cam.close()
    node[link] = "/dev/video2"  # unplugged and replugged: the kernel renumbered the node
    cam.open()
    assert [c.device for c in FakeCapture.instances] == [0, "/dev/video2"]


def test_a_udev_symlink_opens_the_node_it_points_at(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camera_mod.os.path, "exists", lambda p: True)
    monkeypatch.setattr(camera_mod.os.path, "realpath",
                        lambda p: "/dev/video4" if p == "/dev/kiosk-camera" else p)
    FakeCapture.openable = {"/dev/video4"}
    source = open_source(CameraSection(source="/dev/kiosk-camera"), capture_factory=FakeCapture)
    assert isinstance(source, UsbCamera) and source.name == "usb:/dev/kiosk-camera"
    assert FakeCapture.instances[0].device == "/dev/video4"


# --- the probe ------------------------------------------------------------------


def test_probe_measures_the_demo_camera() -> None:
    clock = FakeClock()
    report = probe(CameraSection(source="demo", width=320, height=240, fps=15), seconds=1.0,
                   clock=clock, sleep=clock.sleep)
    assert report.opened and report.is_demo and report.error_key == ""
    assert (report.width, report.height) == (320, 240)
    assert report.fps_measured == pytest.approx(15, rel=0.01)
    assert report.frames == 16


def test_probe_reports_a_missing_camera_without_raising() -> None:
    report = probe(CameraSection(source="/dev/video42"), seconds=0.1)
    assert not report.opened and report.error_key == "camera.not_found"


def test_probe_reports_a_camera_lost_while_probing() -> None:
    FakeCapture.script = [True, True, False, False, False]
    clock = FakeClock()
    report = probe(CameraSection(source="0"), seconds=5, capture_factory=FakeCapture, clock=clock,
                   sleep=clock.sleep)
    assert report.opened and report.error_key == "camera.lost" and report.frames == 2
    assert (report.width, report.height) == (1280, 720)


def test_probe_reports_a_driver_error_without_raising() -> None:
    class Broken(FakeCapture):
        def read(self) -> tuple[bool, np.ndarray | None]:
            raise cv2.error("driver fell over")

    report = probe(CameraSection(source="0"), seconds=1, capture_factory=Broken)
    assert report.opened and report.error_key == "camera.error" and report.frames == 0


def test_auto_warns_when_a_present_camera_will_not_open(caplog: pytest.LogCaptureFixture) -> None:
    FakeCapture.openable = set()
    open_source(CameraSection(source="auto", width=320, height=240), capture_factory=FakeCapture,
                candidates=lambda: ["/dev/video0"])
    assert any(r.levelname == "WARNING" and "camera.auto_demo" in r.getMessage() for r in caplog.records)


def test_decode_image_refuses_what_is_not_a_usable_image(monkeypatch: pytest.MonkeyPatch) -> None:
    ok, png = cv2.imencode(".png", np.full((30, 40, 3), 90, np.uint8))
    assert ok
    image = decode_image(png.tobytes())
    assert image is not None and image.shape == (30, 40, 3)
    assert decode_image(png.tobytes(), cv2.IMREAD_GRAYSCALE).shape == (30, 40)  # type: ignore[union-attr]
    for junk in (b"", b"not an image", png.tobytes()[:40], bytes(range(256)) * 8):
        assert decode_image(junk) is None
    monkeypatch.setattr(cv2, "imdecode", lambda *a: pytest.fail("decoded an image of too many pixels"))
    assert decode_image(qf.png_claiming(12_000, 12_000)) is None
    assert decode_image(qf.png_claiming(60_000, 60_000)) is None


def test_an_image_file_claiming_too_many_pixels_is_unreadable_not_decoded(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = tmp_path / "backdrop.png"
    bomb.write_bytes(qf.png_claiming(40_000, 40_000))  # beyond OpenCV's own limit: it raises
    for name in ("imread", "imdecode"):
        monkeypatch.setattr(cv2, name, lambda *a: pytest.fail("decoded an image of too many pixels"))
    with pytest.raises(CameraNotFound) as info:
        FileSource(bomb).open()
    assert info.value.key == "camera.file_unreadable"
