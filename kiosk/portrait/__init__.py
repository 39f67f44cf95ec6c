"""Face analysis, live guidance, auto-capture and the standard photo (学历照片).

* ``Analyzer(settings).analyse(frame_bgr, now)`` -> ``Analysis`` (``analysis.py``):
  the checks of a preview frame, smoothed over time;
* ``AutoCapture(settings).update(analysis, frame, now)`` -> ``Shot``
  (``autocapture.py``): hold, 3-2-1, the sharpest frame; ``shoot_now()`` for the operator;
* ``make_photo(capture_bgr, analysis, settings)`` -> ``StandardPhoto``
  (``standard.py``): the 480x640 JPEG, or ``FramingError`` with a hint.

Other modules: ``face.py`` (Haar detection), ``background.py`` (backdrop,
head top, clothing), ``photometry.py`` (light and blur on the face),
``framing.py`` (the crop plan), ``checks.py`` (thresholds and verdicts),
``smoothing.py``, ``jpeg.py``.
"""

from kiosk.portrait.analysis import Analysis, Analyzer, BadFrame
from kiosk.portrait.autocapture import AutoCapture, Shot
from kiosk.portrait.checks import Check
from kiosk.portrait.face import Box, Eyes
from kiosk.portrait.framing import OUT_H, OUT_W
from kiosk.portrait.standard import FramingError, StandardPhoto, make_photo

__all__ = ["OUT_H", "OUT_W", "Analysis", "Analyzer", "AutoCapture", "BadFrame", "Box", "Check", "Eyes",
           "FramingError", "Shot", "StandardPhoto", "make_photo"]
