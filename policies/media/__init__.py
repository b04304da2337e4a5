"""Lossless removal of location and identifying metadata from images.

Each format module walks the file's structure as a stream, copies what is needed to show the
picture byte for byte (pixel data is never decoded or re-encoded), keeps the orientation, and
drops everything else: EXIF (GPS, maker notes, serial numbers, owner names, thumbnails), XMP,
IPTC, comments, embedded previews, trailing data. A file whose structure cannot be followed to
the end is refused (`UncleanableMedia`), never passed through. Memory use is bounded by the
largest metadata block, not by the file's size.
"""

from __future__ import annotations

from policies.media.cleaning import CleanReport, UncleanableMedia, clean_file, clean_stream

__all__ = ["CleanReport", "UncleanableMedia", "clean_file", "clean_stream"]
