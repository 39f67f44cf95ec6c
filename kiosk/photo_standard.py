"""The photo standard's numbers (学历照片, 教毕指〔2017〕99号, as schools publish it).

Pure data, shared by the station's portrait code, which frames the photo inside
these bands, and the server's review console, which shows the station's
measurements against them. Distances are pixels of the 480x640 photo, from its
top edge; the face width is cheek to cheek.
"""

from __future__ import annotations

#: the photo's size (width, height), 3:4
OUT_W, OUT_H = 480, 640
#: head top (hairline), pixels from the top edge
HEAD_TOP = (50.0, 110.0)
#: eye line, pixels from the top edge
EYE_LINE = (200.0, 300.0)
#: face width, cheek to cheek
FACE_WIDTH = (180.0, 300.0)
