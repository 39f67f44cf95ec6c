"""The station's touch screens (the edge that people touch).

Screens render the session's state and forward what people do as events; the
camera, scanning, face analysis, store writes and server calls all run off the
GUI thread and come back as Qt signals (``bridge``).
"""
