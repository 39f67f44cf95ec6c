"""The scanner on synthetic frames: every condition, several codes, empty frames, debounce, budget."""

from __future__ import annotations

import math
import string
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
import qr_frames as qf

from kiosk.batch import Batch
from kiosk.codes import KeyRing, demo_codes
from kiosk.config import ScannerSection
from kiosk.scanner import Scanner, classify, to_gray
from kiosk.scanner.decoders import Decoded, DecoderUnavailable, Region, ZxingDecoder, make_decoder
from kiosk.tickets import display, is_ticket, new_ticket

BATCH = Batch("1S95KT", "10001", "北京大学", "2026-06-01", "2026-06-02")
ROOMY = ScannerSection(budget_ms=200)


def still() -> float:
    """A clock that stands still: every extra pass fits the budget however busy the machine is.

    What these tests check is what the passes read, not how fast; on a loaded
    machine a real clock would drop passes and fail them. The budget itself is
    tested with a fake clock that moves as the fake decoder "works".
    """
    return 0.0


@pytest.fixture(scope="module")
def payloads() -> list[str]:
    """Four code-shaped payloads of a real code's length and a ticket, the same on every run.

    Real codes carry a random nonce, and a different QR pattern in each run
    would make the frames, and so these tests, vary from run to run.
    """
    length = len(demo_codes(KeyRing.new(), BATCH, 1, now=datetime(2026, 5, 30, tzinfo=UTC))[0].payload)
    rng = np.random.default_rng(2026)
    alphabet = np.array(list(string.ascii_letters + string.digits + "-_"))
    head = "KC1.kfixed."
    codes = [head + "".join(rng.choice(alphabet, length - len(head))) for _ in range(4)]
    return [*codes, "DRR1-4EVR-0"]


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(ROOMY, clock=still)


def assert_no_wrong(found: list[Decoded], frame: qf.Frame) -> None:
    wrong = [d.text[:12] for d in found if d.text not in frame.acceptable]
    assert not wrong, f"wrong decode in a {frame.condition} frame: {wrong}"


@pytest.mark.parametrize("condition", ["clean", "perspective", "rotation", "noise", "jpeg", "low_contrast",
                                       "inverted", "small"])
def test_each_condition_is_read_in_a_single_frame(scanner: Scanner, payloads: list[str], condition: str) -> None:
    rng = np.random.default_rng(11)
    for i in range(3):
        frame = qf.make_frame(condition, [payloads[i % len(payloads)]], rng=rng)
        scanner.forget()
        found = scanner.decode(frame.image)
        assert_no_wrong(found, frame)
        assert found and found[0].text == frame.expected, f"{condition} frame {i} not read"
        assert frame.center is not None
        assert math.dist(found[0].center, frame.center) < 40


@pytest.mark.parametrize("condition", ["blur", "motion", "glare"])
def test_hard_conditions_are_read_within_a_one_second_presentation(payloads: list[str], condition: str) -> None:
    rng = np.random.default_rng(23)
    for k in range(2):
        text = payloads[k]
        scanner = Scanner(ROOMY, clock=still)
        frames = qf.presentation(condition, text, rng=rng)
        for n, frame in enumerate(frames, 1):
            t = n / 30
            got = scanner.feed(frame.image, t)
            assert got is None or got == text
            if got:
                break
        else:
            pytest.fail(f"{condition}: not read within 30 frames")


def test_the_extra_passes_read_what_the_first_misses(payloads: list[str]) -> None:
    """On frames the plain full-frame pass cannot read, the strategy reads a good share."""
    plain = ZxingDecoder()
    rng = np.random.default_rng(5)
    missed = rescued = 0
    scanner = Scanner(ROOMY, clock=still)
    for i in range(24):
        condition = ("low_contrast", "glare", "blur")[i % 3]
        frame = qf.make_frame(condition, [payloads[i % 4]], rng=rng)
        if frame.expected in [d.text for d in plain.decode(frame.image)]:
            continue
        missed += 1
        scanner.forget()
        found = scanner.decode(frame.image)
        assert_no_wrong(found, frame)
        rescued += bool(found and found[0].text == frame.expected)
    assert missed >= 6
    assert rescued >= 3, (rescued, missed)  # 5 of 11 with zxing-cpp 3.1


def test_empty_frames_and_cut_codes_give_no_wrong_reads(scanner: Scanner, payloads: list[str]) -> None:
    rng = np.random.default_rng(3)
    for _ in range(6):
        frame = qf.make_frame("empty", payloads[:1], rng=rng)
        assert scanner.decode(frame.image) == []
    for _ in range(4):
        frame = qf.make_frame("cut", payloads[:1], rng=rng)
        assert_no_wrong(scanner.decode(frame.image), frame)
    assert scanner.decode(np.zeros((720, 1280), np.uint8)) == []
    assert scanner.decode(np.full((8, 8), 255, np.uint8)) == []
    assert scanner.decode(np.zeros((0, 0), np.uint8)) == []
    assert scanner.decode(np.zeros((720, 1280, 3), np.float32)) == []
    assert scanner.decode(np.zeros(100, np.uint8)) == []


def test_of_two_codes_the_one_nearest_the_centre_comes_first(scanner: Scanner, payloads: list[str]) -> None:
    rng = np.random.default_rng(8)
    for i in range(3):
        frame = qf.make_frame("two", [payloads[i], payloads[i + 1]], rng=rng)
        scanner.forget()
        found = scanner.decode(frame.image)
        assert_no_wrong(found, frame)
        assert found[0].text == payloads[i]
        assert scanner.feed(frame.image, 100.0 + i * 10) == payloads[i]


def test_colour_frames_are_read_as_gray(scanner: Scanner, payloads: list[str]) -> None:
    frame = qf.make_frame("clean", payloads[:1], rng=np.random.default_rng(1))
    bgr = cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
    bgr[:, :, 0] = 0  # pyzbar would have read only this channel
    assert to_gray(bgr).ndim == 2
    scanner.forget()
    assert [d.text for d in scanner.decode(bgr)] == [payloads[0]]


class FakeDecoder:
    """A decoder that reports what it is told and counts its calls."""

    name = "zxing"

    def __init__(self, found: list[Decoded] | None = None, suspects: list[Region] | None = None,
                 clock: list[float] | None = None, cost: float = 0.0) -> None:
        self.found = found or []
        self.suspects = suspects or []
        self.calls = 0
        self.clock = clock
        self.cost = cost

    def _spend(self, gray: np.ndarray) -> None:
        self.calls += 1
        if self.clock is not None:
            self.clock[0] += self.cost * gray.size  # decoders take time in proportion to pixels

    def find(self, gray: np.ndarray) -> tuple[list[Decoded], list[Region]]:
        self._spend(gray)
        return list(self.found), list(self.suspects)

    def decode(self, gray: np.ndarray, *, invert: bool = False) -> list[Decoded]:
        self._spend(gray)
        return []


def _at(text: str, x: float, y: float) -> Decoded:
    return Decoded(text, (x, y), ((x - 10, y - 10), (x + 10, y - 10), (x + 10, y + 10), (x - 10, y + 10)))


def test_each_code_is_reported_once_per_debounce_period() -> None:
    fake = FakeDecoder([_at("KC1.a.b", 640, 360)])
    scanner = Scanner(ScannerSection(debounce_s=3.0), decoder=fake)
    frame = np.zeros((720, 1280), np.uint8)
    assert scanner.feed(frame, 10.0) == "KC1.a.b"
    assert scanner.feed(frame, 11.0) is None
    assert scanner.feed(frame, 12.9) is None
    assert scanner.feed(frame, 13.1) == "KC1.a.b"
    fake.found = [_at("OTHER", 640, 360)]
    assert scanner.feed(frame, 13.2) == "OTHER"  # another code is not held back
    scanner.forget()
    fake.found = [_at("KC1.a.b", 640, 360)]
    assert scanner.feed(frame, 13.3) == "KC1.a.b"  # a new session may show it again


def test_feed_reports_the_code_nearest_the_centre() -> None:
    fake = FakeDecoder([_at("EDGE", 100, 100), _at("MIDDLE", 600, 380), _at("FAR", 1200, 700)])
    scanner = Scanner(ScannerSection(), decoder=fake)
    assert scanner.feed(np.zeros((720, 1280), np.uint8), 1.0) == "MIDDLE"


def test_extra_passes_stop_at_the_budget() -> None:
    clock = [0.0]
    suspects = [Region((400, 300), 200), Region((900, 300), 200)]
    frame = np.zeros((720, 1280), np.uint8)
    fake = FakeDecoder(suspects=suspects, clock=clock, cost=0.012 / frame.size)  # 12 ms a whole frame
    scanner = Scanner(ScannerSection(budget_ms=15), decoder=fake, clock=lambda: clock[0])
    for _ in range(5):
        clock[0] += 1.0
        before_calls, before = fake.calls, clock[0]
        assert scanner.decode(frame) == []
        assert clock[0] - before <= 0.015 + 1e-9, "a pass was started that could not fit"
        assert 2 <= fake.calls - before_calls < 7  # some crop passes, not all of them
    roomy = FakeDecoder(suspects=suspects, clock=clock, cost=0.001 / frame.size)
    Scanner(ScannerSection(budget_ms=200), decoder=roomy, clock=lambda: clock[0]).decode(frame)
    assert roomy.calls == 1 + 2 * 3  # the first pass, then three crop passes per region


def test_a_waiting_station_pays_for_one_or_two_extra_passes_per_frame() -> None:
    fake = FakeDecoder()
    scanner = Scanner(ScannerSection(budget_ms=200), decoder=fake, clock=still)
    scanner.decode(np.zeros((720, 1280), np.uint8))
    assert fake.calls == 2  # the first pass, then a sharpened one
    scanner.decode(np.zeros((1080, 1920), np.uint8))
    assert fake.calls == 2 + 3  # and a half-size one on 1080p frames


def test_zbar_reads_utf8_without_mojibake_and_inverted_codes() -> None:
    try:
        zbar = make_decoder("zbar")
    except DecoderUnavailable as exc:  # libzbar0 missing on this machine
        pytest.skip(f"zbar unavailable: {exc}")
    scanner = Scanner(ScannerSection(backend="zbar", budget_ms=500), decoder=zbar, clock=still)
    rng = np.random.default_rng(4)
    for text in ("采集码：张伟 本科 北京大学", "KC1.kabc.Zm9vYmFy-_"):
        frame = qf.make_frame("clean", [text], rng=rng)
        scanner.forget()
        assert [d.text for d in scanner.decode(frame.image)] == [text]
    dark = qf.make_frame("inverted", ["KC1.kdark.c2VjcmV0"], rng=rng)
    scanner.forget()
    texts = [d.text for _ in range(2) for d in scanner.decode(dark.image)]  # invert and sharpen take turns
    assert "KC1.kdark.c2VjcmV0" in texts


def test_classify_sorts_tickets_codes_and_the_rest(payloads: list[str]) -> None:
    assert is_ticket(payloads[-1])
    t = new_ticket()
    assert classify(display(t)) == "ticket"
    assert classify(t.lower()) == "ticket"
    assert classify(payloads[0]) == "code"
    assert classify("https://example.com/x") == "other"
    assert classify("9787111544937") == "other"
    assert classify("FAKE:1", lambda s: s.startswith("FAKE:")) == "code"


def test_a_student_holding_a_phone_to_the_demo_camera_is_read_within_a_second(payloads: list[str]) -> None:
    scene_mod = pytest.importorskip("kiosk.scene")
    scene = scene_mod.Scene(1280, 720)
    # the shipped settings and colour frames, as the station runs it (the clock held, as above)
    scanner = Scanner(ScannerSection(), clock=still)
    reads: list[tuple[int, str]] = []
    for i in range(30):
        t = i / 30
        frame = scene.render(scene_mod.natural_motion(scene_mod.Pose(), t), code_text=payloads[1], t=t)
        got = scanner.feed(frame, t)
        if got is not None:
            reads.append((i, got))
        if reads and i >= reads[0][0] + 3:
            break
    assert reads and reads[0][1] == payloads[1]
    assert len(reads) == 1  # then debounced while it is held


@pytest.mark.parametrize("frame", [
    np.zeros((0, 0, 3), np.uint8), np.zeros((0, 1280, 3), np.uint8), np.zeros((720, 0, 4), np.uint8),
    np.zeros((0, 0), np.uint8), np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1, 4), np.uint8),
    np.zeros((30, 30, 2), np.uint8), np.zeros(100, np.uint8), np.zeros((2, 30, 30, 3), np.uint8),
    np.full((40, 40), np.nan), np.zeros((40, 40), bool),
], ids=["empty", "no-rows", "no-columns", "empty-gray", "1x1", "1x1-bgra", "two-channel", "1d", "4d", "nan",
        "bool"])
def test_odd_frames_give_nothing_never_a_crash(frame: np.ndarray) -> None:
    scanner = Scanner(ROOMY, clock=still)
    with np.errstate(invalid="ignore"):
        assert scanner.decode(frame) == []
        assert scanner.feed(frame, 1.0) is None


def test_a_16_bit_frame_is_read_at_its_own_contrast(scanner: Scanner, payloads: list[str]) -> None:
    frame = qf.make_frame("clean", payloads[:1], rng=np.random.default_rng(1))
    deep = frame.image.astype(np.uint16) * 257  # a Y16 camera or a 16-bit PNG
    assert to_gray(deep).dtype == np.uint8
    scanner.forget()
    assert [d.text for d in scanner.decode(deep)] == [payloads[0]]
