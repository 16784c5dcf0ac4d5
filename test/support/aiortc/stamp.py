"""rtc-scale's frame stamp (src/loadgen/stamp.ts) in Python with numpy: the same layout, so a
frame stamped here reads back in TypeScript and the other way round.

A frame is the yuv420p ndarray PyAV gives (`frame.to_ndarray(format="yuv420p")`): shape
(height * 3 // 2, width), the Y plane in the first `height` rows, then U and V (each
width/2 x height/2) packed row after row. Only even sizes are used here.

Layout (see stamp.ts for the why): cells of width/40 px; a flat grey band (Y = U = V = 128) of
ceil(cell * 4.5) rows at the top; 3 rows of 34 cells from cell (3, 1); per row two reference
cells (textured, flat) then 32 data bits, most significant first; a textured cell is a dark
(Y 32) then a bright (Y 224) half-cell bar. Rows: frame number, floor(send ms) mod 2^32, and
CRC-32 of those 8 big-endian bytes XOR 0x5a17c3e9. Reading measures the mean absolute deviation
of Y inside each cell, inset by a quarter cell, and refuses anything uncertain.

Command line, for the cross-language test:
    stamp.py write W H FRAME MS   > frame.yuv     (grey frame with a stamp, raw I420 on stdout)
    stamp.py read W H < frame.yuv                  (prints {"frameNumber", "sendTimeMs"} or null)
"""
import json
import math
import struct
import sys
import zlib
from typing import List, Optional, Tuple

import numpy as np

CELLS_ACROSS = 40
ORIGIN_COL = 3
ORIGIN_ROW = 1
ROWS = 3
DATA_PER_ROW = 32
REFS_PER_ROW = 2
COLS = REFS_PER_ROW + DATA_PER_ROW
BAND_CELLS = ORIGIN_ROW + ROWS + 0.5
Y_FLAT = 128
Y_DARK = 32
Y_BRIGHT = 224
CHECK_XOR = 0x5A17C3E9
MIN_TEXTURE_DEVIATION = 8
MIN_REFERENCE_RATIO = 2.5
AMBIGUOUS_FRACTION = 0.1
MIN_STAMP_WIDTH = 160


def js_round(x: float) -> int:
    """Math.round of JavaScript (half up), not Python's round-half-even."""
    return math.floor(x + 0.5)


def band_height(width: int) -> int:
    """Rows at the top of a frame of this width that the stamp overwrites."""
    return math.ceil((width / CELLS_ACROSS) * BAND_CELLS)


def cell_rect(width: int, row: int, col: int) -> Tuple[int, int, int, int]:
    cell = width / CELLS_ACROSS
    return (
        js_round((ORIGIN_COL + col) * cell),
        js_round((ORIGIN_COL + col + 1) * cell),
        js_round((ORIGIN_ROW + row) * cell),
        js_round((ORIGIN_ROW + row + 1) * cell),
    )


def check_word(frame_number: int, time_ms: int) -> int:
    return (zlib.crc32(struct.pack(">II", frame_number, time_ms)) ^ CHECK_XOR) & 0xFFFFFFFF


def wrap_ms(ms: float) -> int:
    return math.floor(ms) & 0xFFFFFFFF


def fits(img: np.ndarray, width: int, height: int) -> bool:
    return width >= MIN_STAMP_WIDTH and height >= band_height(width) and img.shape == (height * 3 // 2, width) and width % 2 == 0 and height % 2 == 0


def write_stamp(img: np.ndarray, width: int, height: int, frame_number: int, send_time_ms: float) -> None:
    """Write a stamp into the top band of a yuv420p ndarray, in place."""
    if not fits(img, width, height):
        raise ValueError(f"cannot stamp a {width}x{height} frame of shape {img.shape}")
    band = band_height(width)
    img[:band, :] = Y_FLAT
    cw, ch = width // 2, height // 2
    chroma = img[height:].reshape(-1)
    rows = min(ch, (band + 1) >> 1)
    chroma[: rows * cw] = 128
    chroma[cw * ch : cw * ch + rows * cw] = 128
    frame = frame_number & 0xFFFFFFFF
    t = wrap_ms(send_time_ms)
    words = [frame, t, check_word(frame, t)]
    for row in range(ROWS):
        for col in range(COLS):
            if col < REFS_PER_ROW:
                textured = col == 0
            else:
                textured = (words[row] >> (DATA_PER_ROW - 1 - (col - REFS_PER_ROW))) & 1 == 1
            if not textured:
                continue
            x0, x1, y0, y1 = cell_rect(width, row, col)
            mid = (x0 + x1) >> 1
            img[y0:y1, x0:mid] = Y_DARK
            img[y0:y1, mid:x1] = Y_BRIGHT


def cell_deviation(y: np.ndarray, rect: Tuple[int, int, int, int]) -> float:
    x0, x1, y0, y1 = rect
    in_x = max(1, js_round((x1 - x0) / 4))
    in_y = max(1, js_round((y1 - y0) / 4))
    region = y[y0 + in_y : y1 - in_y, x0 + in_x : x1 - in_x].astype(np.float64)
    return float(np.abs(region - region.mean()).mean())


def read_stamp(img: np.ndarray, width: int, height: int) -> Optional[Tuple[int, int]]:
    """(frame number, floor(send ms) mod 2^32) of a stamped frame, or None when not certain."""
    if not fits(img, width, height):
        return None
    y = img[:height]
    dev: List[List[float]] = [[cell_deviation(y, cell_rect(width, r, c)) for c in range(COLS)] for r in range(ROWS)]
    texture_min = min(d[0] for d in dev)
    flat_max = max(d[1] for d in dev)
    if texture_min < MIN_TEXTURE_DEVIATION or texture_min < flat_max * MIN_REFERENCE_RATIO:
        return None
    threshold = (texture_min + flat_max) / 2
    ambiguous = (texture_min - flat_max) * AMBIGUOUS_FRACTION
    out = []
    for r in range(ROWS):
        word = 0
        for c in range(REFS_PER_ROW, COLS):
            v = dev[r][c]
            if abs(v - threshold) < ambiguous:
                return None
            word = ((word << 1) | (1 if v > threshold else 0)) & 0xFFFFFFFF
        out.append(word)
    frame, t, check = out
    if check_word(frame, t) != check:
        return None
    return frame, t


def stamp_age_ms(send_time_ms: int, now_ms: float) -> float:
    """Milliseconds from a stamp's send time to now (same clock), undoing the 32-bit wrap."""
    diff = (wrap_ms(now_ms) - wrap_ms(send_time_ms)) % (2**32)
    return diff + (now_ms - math.floor(now_ms))


def _main(argv: List[str]) -> int:
    if len(argv) == 5 and argv[0] == "write":
        w, h, n, ms = int(argv[1]), int(argv[2]), int(argv[3]), float(argv[4])
        img = np.full((h * 3 // 2, w), 128, dtype=np.uint8)
        write_stamp(img, w, h, n, ms)
        sys.stdout.buffer.write(img.tobytes())
        return 0
    if len(argv) == 3 and argv[0] == "read":
        w, h = int(argv[1]), int(argv[2])
        data = np.frombuffer(sys.stdin.buffer.read(), dtype=np.uint8)
        if data.size != w * h * 3 // 2:
            print("null")
            return 0
        got = read_stamp(data.reshape(h * 3 // 2, w), w, h)
        print("null" if got is None else json.dumps({"frameNumber": got[0], "sendTimeMs": got[1]}))
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
