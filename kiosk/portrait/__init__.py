"""Face analysis, live guidance, auto-capture and the standard photo (学历照片).

* ``Analyzer(settings).analyse(frame_bgr, now, allow_headwear=False)`` ->
  ``Analysis`` (``analysis.py``): the checks of a preview frame, smoothed over
  time; ``allow_headwear`` is the operator's leave for religious or medical
  headwear, for one capture (the caller audits it);
* ``AutoCapture(settings).update(analysis, frame, now)`` -> ``Shot``
  (``autocapture.py``): hold, 3-2-1, the sharpest frame; ``shoot_now()`` for the operator;
* ``make_photo(capture_bgr, analysis, settings)`` -> ``StandardPhoto``
  (``standard.py``): the 480x640 JPEG, or ``FramingError`` with a hint.

Other modules: ``face.py`` (Haar detection), ``shape.py`` (the 68
landmarks: eyes, cheek-to-cheek width, yaw and pitch, eyes and mouth open),
``headwear.py`` (bareheaded or not), ``background.py`` (backdrop inside the
crop, head top, clothing), ``photometry.py`` (light, blur, the eyes' pixels),
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
