"""The chime that calls staff: a short two-tone sound made here, played however the machine can.

In order: Qt Multimedia's ``QSoundEffect`` (needs PulseAudio's client
libraries), else ALSA's ``aplay`` with the same sound, else the system bell.
A station without audio stays silent and logs it once; nothing here raises.
The visible banner is the promise; the chime only makes it heard across a hall.
"""

from __future__ import annotations

import io
import logging
import math
import os
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

RATE = 22050


def chime_wav(tones: tuple[float, ...] = (880.0, 660.0), seconds: float = 0.35, volume: float = 0.5) -> bytes:
    """A WAV of ``tones`` one after the other, each faded in and out (no clicks)."""
    frames = bytearray()
    n = int(RATE * seconds)
    fade = max(1, n // 10)
    for freq in tones:
        for i in range(n):
            envelope = min(1.0, i / fade, (n - i) / fade)
            sample = int(32767 * volume * envelope * math.sin(2 * math.pi * freq * i / RATE))
            frames += struct.pack("<h", sample)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return out.getvalue()


class Chime:
    """Plays the staff chime; ``ring()`` never raises and never blocks the screen."""

    def __init__(self) -> None:
        self._file: Path | None = None
        self._effect: Any = None
        self._player: str | None = None
        self._prepared = False
        self.rang = 0  # how many times it was asked to ring (tests, the log)

    def _prepare(self) -> None:
        self._prepared = True
        try:
            fd, name = tempfile.mkstemp(prefix="kiosk-chime-", suffix=".wav")
            with os.fdopen(fd, "wb") as out:
                out.write(chime_wav())
            self._file = Path(name)
        except OSError as exc:
            log.warning("chime.unavailable reason=tempfile errno=%s", exc.errno)
            return
        try:
            from PyQt5.QtCore import QUrl
            from PyQt5.QtMultimedia import QSoundEffect

            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(self._file)))
            effect.setVolume(1.0)
            self._effect = effect
            return
        except ImportError as exc:  # Qt Multimedia or its audio libraries are not installed
            log.info("chime.qt_multimedia_missing error=%s", type(exc).__name__)
        self._player = shutil.which("aplay")
        if self._player is None:
            log.warning("chime.no_audio fallback=bell")

    def ring(self) -> None:
        """Play the chime once (or the system bell)."""
        self.rang += 1
        if not self._prepared:
            self._prepare()
        try:
            if self._effect is not None:
                self._effect.play()
            elif self._player is not None and self._file is not None:
                subprocess.Popen([self._player, "-q", str(self._file)], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            else:
                from PyQt5.QtWidgets import QApplication

                QApplication.beep()
        except (OSError, RuntimeError) as exc:
            log.warning("chime.failed error=%s", type(exc).__name__)

    def close(self) -> None:
        """Remove the sound file."""
        if self._file is not None:
            self._file.unlink(missing_ok=True)
