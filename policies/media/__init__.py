"""Lossless removal of location and identifying metadata from images.

Each format module walks the file's structure as a stream, copies what is needed to show the
picture byte for byte (pixel data is never decoded or re-encoded), keeps the orientation, and
drops everything else: EXIF (GPS, maker notes, serial numbers, owner names, thumbnails), XMP,
IPTC, comments, embedded previews, trailing data. A file whose structure cannot be followed to
the end is refused (`UncleanableMedia`), never passed through. Memory use is bounded by the
largest metadata block, not by the file's size.

Videos (MP4, MOV) are cleaned by `movie`: the index (`movie_index`) is rebuilt with only the
picture and sound tracks, and the media data copied with every byte no kept sample uses
zeroed; `movie_samples` extracts each track's samples to prove it, `video_facts` reads what
the platforms' limits (`policies.video_limits`) ask about. A video is read at offsets, so it
needs a seekable stream or bytes in memory (a pipe is read into memory first); the index is
held in memory, up to 64 MB.

`dimensions` reads the size a decoder will allocate from the same walk, so that nothing is
decoded before its size is known to be reasonable.
"""

from __future__ import annotations

from policies.media.cleaning import CleanReport, UncleanableMedia, clean_stream, prove_clean
from policies.media.dimensions import (
    PictureTooLarge,
    decoded_pixels,
    dimensions,
    refuse_larger_than,
)

__all__ = ["CleanReport", "PictureTooLarge", "UncleanableMedia", "clean_stream", "decoded_pixels",
           "dimensions", "prove_clean", "refuse_larger_than"]
