#!/usr/bin/python3
"""aiortc (Debian's python3-aiortc 1.4) as a test client of an rtc-scale server: sends synthetic
video carrying rtc-scale's frame stamp (stamp.py, the layout of src/loadgen/stamp.ts), posts the
offer to {url}/offer, receives the processed video on the same transceiver and prints one JSON
line per event on stdout:

  {"type": "connected", "sessionId", "codec", "answerMs"}
  {"type": "frame", "frame": N | null, "latencyMs", "width", "height", "meanY", "meanU", "meanV",
   "sentMeanY", "sentMeanU", "sentMeanV"}     means over the picture below the stamp band;
                                              sent*: of the frame with that number as it was sent
  {"type": "channel", "data"}                 a data channel message (first 2000 characters)
  {"type": "done", "sent", "received", "decoded", "channelMessages"}
  {"type": "error", "message"}                then exit status 1

    /usr/bin/python3 test/support/aiortc/client.py --url http://127.0.0.1:8080 --filter invert --frames 60
"""
import argparse
import asyncio
import fractions
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aioice.ice  # noqa: E402
import numpy as np  # noqa: E402
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402
from av import VideoFrame  # noqa: E402

from stamp import band_height, read_stamp, stamp_age_ms, write_stamp  # noqa: E402

VIDEO_CLOCK = 90000
#: Means of sent frames kept for matching received ones (a few seconds at 30 fps).
SENT_HISTORY = 300
CHANNEL_TEXT_MAX = 2000


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def now_ms() -> float:
    return time.monotonic() * 1000


def use_loopback_candidate() -> None:
    """aioice leaves 127.0.0.1 out of its host candidates; in a loopback-only network namespace
    that leaves none, so fall back to it when nothing else is there."""
    original = aioice.ice.get_host_addresses

    def addresses(use_ipv4: bool, use_ipv6: bool) -> list:
        found = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        return found if found else ["127.0.0.1"] if use_ipv4 else []

    aioice.ice.get_host_addresses = addresses


def plane_means(img: np.ndarray, width: int, height: int) -> tuple:
    """Mean Y, U, V below the stamp band (where the picture is the sender's own)."""
    top = min(height, band_height(width) + 2)
    cw, ch = width // 2, height // 2
    chroma = img[height:].reshape(-1)
    u = chroma[: cw * ch].reshape(ch, cw)
    v = chroma[cw * ch : 2 * cw * ch].reshape(ch, cw)
    ctop = min(ch, (top + 1) // 2)
    r = lambda a: round(float(a.mean()), 2)  # noqa: E731
    return r(img[top:height]), r(u[ctop:]), r(v[ctop:])


class StampedVideo(MediaStreamTrack):
    """Synthetic video: a scrolling diagonal ramp with a bouncing box, dim on purpose (mean Y
    near 92, U near 90, V near 165) so that invert and grayscale show in every plane's mean;
    the stamp on top."""

    kind = "video"

    def __init__(self, width: int, height: int, fps: float, sent: "OrderedDict[int, tuple]") -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.sent = sent
        self.count = 0
        self.start: Optional[float] = None
        yy, xx = np.mgrid[0:height, 0:width]
        self.base = ((xx + yy) % 100 + 40).astype(np.uint8)
        cy, cx = np.mgrid[0 : height // 2, 0 : width // 2]
        self.u = (70 + (cx % 40)).astype(np.uint8)
        self.v = (150 + (cy % 30)).astype(np.uint8)

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.start is None:
            self.start = time.monotonic()
        due = self.start + self.count / self.fps
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        w, h, n = self.width, self.height, self.count
        img = np.empty((h * 3 // 2, w), dtype=np.uint8)
        img[:h] = np.roll(self.base, n * 3, axis=1)
        box = max(8, min(w, h) // 5)
        bx = (n * 5) % (w - box)
        by = band_height(w) + 2 + (n * 3) % max(1, h - band_height(w) - 2 - box)
        img[by : by + box, bx : bx + box] = 200
        cw, ch = w // 2, h // 2
        chroma = img[h:].reshape(-1)
        chroma[: cw * ch] = self.u.reshape(-1)
        chroma[cw * ch :] = self.v.reshape(-1)
        write_stamp(img, w, h, n, now_ms())
        self.sent[n] = plane_means(img, w, h)
        while len(self.sent) > SENT_HISTORY:
            self.sent.popitem(last=False)
        frame = VideoFrame.from_ndarray(img, format="yuv420p")
        frame.pts = round(n * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.count += 1
        return frame


def post_offer(url: str, body: dict, timeout: float) -> dict:
    req = urllib.request.Request(
        url.rstrip("/") + "/offer", data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return json.loads(res.read())
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"POST /offer answered {err.code}: {err.read()[:300].decode(errors='replace')}") from err


def delete_session(url: str, sid: str) -> None:
    req = urllib.request.Request(url.rstrip("/") + "/sessions/" + sid, method="DELETE")
    try:
        urllib.request.urlopen(req, timeout=3).close()
    except (urllib.error.URLError, OSError):
        pass  # already gone (its data channel closing ended it)


def answer_codec(sdp: str) -> Optional[str]:
    m = re.search(r"^m=video \d+ \S+ (\d+)", sdp, re.M)
    if not m:
        return None
    pt = m.group(1)
    r = re.search(rf"^a=rtpmap:{pt} ([^/\s]+)/", sdp, re.M)
    return f"video/{r.group(1)}" if r else None


async def run(args: argparse.Namespace) -> int:
    sent: "OrderedDict[int, tuple]" = OrderedDict()
    pc = RTCPeerConnection()
    video = StampedVideo(args.width, args.height, args.fps, sent)
    transceiver = pc.addTransceiver(video, direction="sendrecv")
    if args.codec != "any":
        caps = RTCRtpSender.getCapabilities("video").codecs
        wanted = [c for c in caps if c.mimeType.lower() == f"video/{args.codec.lower()}"]
        if not wanted:
            raise RuntimeError(f"aiortc has no {args.codec} codec")
        transceiver.setCodecPreferences(wanted + [c for c in caps if c.mimeType.lower() == "video/rtx"])
    channel = pc.createDataChannel("control")
    counts = {"received": 0, "decoded": 0, "channel": 0}
    finished = asyncio.Event()

    @channel.on("message")
    def on_message(message) -> None:
        counts["channel"] += 1
        if isinstance(message, str) and counts["channel"] <= 1000:
            emit({"type": "channel", "data": message[:CHANNEL_TEXT_MAX]})

    async def consume(track: MediaStreamTrack) -> None:
        while not finished.is_set():
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            arrived = now_ms()
            counts["received"] += 1
            img = frame.to_ndarray(format="yuv420p")
            w, h = frame.width, frame.height
            stamp = read_stamp(img, w, h)
            my, mu, mv = plane_means(img, w, h)
            line = {"type": "frame", "frame": None, "latencyMs": None, "width": w, "height": h, "meanY": my, "meanU": mu, "meanV": mv}
            if stamp is not None and stamp[0] < video.count:
                counts["decoded"] += 1
                line["frame"] = stamp[0]
                line["latencyMs"] = round(stamp_age_ms(stamp[1], arrived), 2)
                ref = sent.get(stamp[0])
                if ref is not None:
                    line["sentMeanY"], line["sentMeanU"], line["sentMeanV"] = ref
            emit(line)
            if counts["decoded"] >= args.frames:
                finished.set()

    consumers = []

    @pc.on("track")
    def on_track(track) -> None:
        if track.kind == "video":
            consumers.append(asyncio.ensure_future(consume(track)))

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if pc.connectionState == "failed":
            emit({"type": "error", "message": "peer connection failed"})
            finished.set()

    sid = None
    try:
        await pc.setLocalDescription(await pc.createOffer())
        t0 = now_ms()
        body = {"sdp": pc.localDescription.sdp, "type": "offer", "filter": args.filter, "iterations": args.iterations}
        answer = await asyncio.get_running_loop().run_in_executor(None, post_offer, args.url, body, args.timeout)
        if not isinstance(answer, dict) or answer.get("type") != "answer" or not isinstance(answer.get("sdp"), str):
            raise RuntimeError(f"POST /offer did not answer with an SDP answer: {str(answer)[:300]}")
        sid = answer.get("sessionId")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        emit({"type": "connected", "sessionId": sid, "codec": answer_codec(answer["sdp"]), "answerMs": round(now_ms() - t0, 1)})
        try:
            await asyncio.wait_for(finished.wait(), timeout=args.duration)
        except asyncio.TimeoutError:
            pass  # ran its time: report what came back
        ok = pc.connectionState != "failed"
    except Exception as err:  # any failure is one error line and status 1, never a traceback only
        emit({"type": "error", "message": f"{type(err).__name__}: {err}"})
        ok = False
    finished.set()
    emit({"type": "done", "sent": video.count, "received": counts["received"], "decoded": counts["decoded"], "channelMessages": counts["channel"]})
    video.stop()
    for c in consumers:
        c.cancel()
    try:
        channel.close()
    except Exception:  # already closed
        pass
    await pc.close()
    if sid:
        await asyncio.get_running_loop().run_in_executor(None, delete_session, args.url, sid)
    return 0 if ok else 1


def main() -> None:
    p = argparse.ArgumentParser(description="aiortc test client for rtc-scale (stamped video, per-frame JSON)")
    p.add_argument("--url", required=True, help="server base URL (POST {url}/offer)")
    p.add_argument("--filter", default="none")
    p.add_argument("--iterations", type=int, default=1)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--fps", type=float, default=30)
    p.add_argument("--frames", type=int, default=90, help="stop after this many frames came back with a stamp")
    p.add_argument("--duration", type=float, default=20, help="stop after this many seconds of video at most")
    p.add_argument("--timeout", type=float, default=10, help="seconds the offer may take")
    p.add_argument("--codec", default="any", choices=["any", "VP8", "H264"], help="offer only this codec")
    args = p.parse_args()
    if args.width % 2 or args.height % 2 or args.width < 160 or args.height < band_height(args.width) + 16:
        p.error("--width and --height must be even, width >= 160, and leave room below the stamp band")
    if not 0 < args.fps <= 120 or args.frames < 1 or args.duration <= 0:
        p.error("--fps must be 0..120, --frames >= 1, --duration > 0")
    use_loopback_candidate()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
