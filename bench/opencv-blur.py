#!/usr/bin/env python3
"""The GET /process workload in OpenCV, to compare with `npm run bench` on the same machine.

1920x1080 RGBA8 synthetic image (byte (x, y, c) = (x*7 + y*13 + c*29 + (x ^ y)*3) & 255),
cv2.GaussianBlur 3x3, sigma 0 ([1 2 1]/4 each way), BORDER_REPLICATE (clamp-to-edge), 10 times.
OpenCV's 8-bit Gaussian is bit-exact, so the SHA-256 equals the backends' checksum.

    apt-get install python3-opencv      # Debian's OpenCV (4.6 on Debian 12)
    /usr/bin/python3 bench/opencv-blur.py [threads]     # default 2
"""
import hashlib
import os
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
W, H, RUNS = 1920, 1080, 20
x = np.arange(W, dtype=np.int64)[None, :]
y = np.arange(H, dtype=np.int64)[:, None]
base = x * 7 + y * 13 + (x ^ y) * 3
img = np.stack([(base + c * 29) & 255 for c in range(4)], axis=-1).astype(np.uint8)


def blur10():
    out = img
    for _ in range(10):
        out = cv2.GaussianBlur(out, (3, 3), 0, borderType=cv2.BORDER_REPLICATE)
    return out


blur10()
blur10()
ts = []
cpu0 = time.process_time()  # all threads of the process, like process.cpuUsage() in npm run bench
for _ in range(RUNS):
    t0 = time.perf_counter()
    out = blur10()
    ts.append((time.perf_counter() - t0) * 1000)
cpu_ms = (time.process_time() - cpu0) * 1000 / RUNS
ts.sort()
print(f"opencv {cv2.__version__}, {cv2.getNumThreads()} threads: median {ts[RUNS // 2]:.2f} ms, "
      f"p95 {ts[int(RUNS * 0.95) - 1]:.2f}, min {ts[0]:.2f}, cpu time per call {cpu_ms:.2f}; "
      f"sha256 {hashlib.sha256(out.tobytes()).hexdigest()}; load {os.getloadavg()[0]:.1f}")
