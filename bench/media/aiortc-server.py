#!/usr/bin/python3
"""The peer to beat: a small aiortc video-processing server, written after aiortc's
examples/server/server.py, that rtc-scale's media benchmark (bench/media/bench-media.ts) measures
every speed claim against.

Run by Debian's python3 with Debian's python3-aiortc 1.4 (apt-get install python3-aiortc
python3-aiohttp; python3-opencv optional, for the blur):

    /usr/bin/python3 bench/media/aiortc-server.py --port 8081

HTTP (127.0.0.1 by default):
  POST /offer          {sdp, type: "offer", filter? | video_transform?, iterations?}
                       -> {sdp, type: "answer", sessionId}; both rtc-scale's body (filter) and the
                       aiortc example's (video_transform) are accepted, so the same client speaks to
                       both servers.
  DELETE /sessions/ID  204, or 404 with a JSON error
  GET /sessions        {sessions: [{id, filter, connectionState, framesIn, framesOut}]}
  GET /healthz         {status, server: "aiortc", aiortc, sessions, blur}
Errors: {"error": {"code", "message"}} with 400 / 404 / 413 / 503.

The video is sent back on the client's own sendrecv transceiver. Each frame goes through a
VideoStreamTrack transform: `none` returns the decoded frame object itself (no copy), `invert`,
`grayscale` and `blur` (3x3 Gaussian [1 2 1]/4 each way, clamp to edge, all three I420 planes, as
rtc-scale's reference filter) work on the yuv420p planes. Between the receiver and the transform
sits aiortc's MediaRelay, unbuffered by default (the newest decoded frame wins, as in rtc-scale's
frame slot; nothing queues without bound); --buffered uses the example's buffered relay instead.
The data channel answers "ping..." with "pong..." (the example's protocol) and a JSON
{"type":"ping"} with {"type":"pong"}; everything else is ignored. A session ends when its data
channel closes, its connection fails or closes, is not connected 30 s after the offer, or on
DELETE.

The first line on stdout is `listening on http://HOST:PORT` once the port is bound (port 0 picks a
free one), so a parent process can wait for it.
"""
import argparse
import asyncio
import json
import logging
import re
import signal
import sys
import uuid
from typing import Dict

import aioice.ice
import aiortc
import numpy as np
from aiohttp import web
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from av import VideoFrame

try:  # Debian's python3-opencv; the numpy blur below gives the same bytes, more slowly.
    import cv2

    cv2.setNumThreads(1)
except ImportError:  # pragma: no cover - depends on the machine
    cv2 = None

log = logging.getLogger("aiortc-server")

FILTERS = ("none", "invert", "grayscale", "blur")
MAX_ITERATIONS = 50
BODY_LIMIT = 256 * 1024
CONNECT_TIMEOUT_S = 30


class ApiError(Exception):
    """An HTTP error answered as {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def blur_plane_numpy(plane: np.ndarray, iterations: int) -> np.ndarray:
    """3x3 Gaussian, clamp to edge, (sum + 8) >> 4: the same bytes as rtc-scale's reference."""
    p = plane.astype(np.uint16)
    for _ in range(iterations):
        e = np.pad(p, 1, mode="edge")
        h = e[:, :-2] + 2 * e[:, 1:-1] + e[:, 2:]
        p = (h[:-2, :] + 2 * h[1:-1, :] + h[2:, :] + 8) >> 4
    return p.astype(np.uint8)


def blur_plane(plane: np.ndarray, iterations: int) -> np.ndarray:
    if cv2 is None:
        return blur_plane_numpy(plane, iterations)
    out = plane
    for _ in range(iterations):
        out = cv2.GaussianBlur(out, (3, 3), 0, borderType=cv2.BORDER_REPLICATE)
    return out


def transform_planes(frame: VideoFrame, filter_name: str, iterations: int) -> VideoFrame:
    """Apply a filter on the I420 planes of `frame` and return a new frame with its timing."""
    img = frame.to_ndarray(format="yuv420p")  # (h * 3/2, w): Y, then U and V rows of w/2
    w, h = frame.width, frame.height
    y = img[:h]
    chroma = img[h:]  # U then V, each (h/2, w/2) laid out as h/4 rows of w
    if filter_name == "invert":
        np.subtract(255, img, out=img)
    elif filter_name == "grayscale":
        chroma[:] = 128
    elif filter_name == "blur":
        cw, ch = w // 2, h // 2
        u = chroma.reshape(-1)[: cw * ch].reshape(ch, cw)
        v = chroma.reshape(-1)[cw * ch : 2 * cw * ch].reshape(ch, cw)
        y[:] = blur_plane(y, iterations)
        u[:] = blur_plane(u, iterations)
        v[:] = blur_plane(v, iterations)
    out = VideoFrame.from_ndarray(img, format="yuv420p")
    out.pts = frame.pts
    out.time_base = frame.time_base
    return out


class VideoTransformTrack(MediaStreamTrack):
    """Video that is the client's own video, filtered."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, session: "Session") -> None:
        super().__init__()
        self.source = source
        self.session = session

    async def recv(self) -> VideoFrame:
        frame = await self.source.recv()
        self.session.frames_in += 1
        name = self.session.filter
        out = frame if name == "none" else transform_planes(frame, name, self.session.iterations)
        self.session.frames_out += 1
        return out


class Session:
    """One client connection and what it asked for."""

    def __init__(self, sid: str, pc: RTCPeerConnection, filter_name: str, iterations: int) -> None:
        self.id = sid
        self.pc = pc
        self.filter = filter_name
        self.iterations = iterations
        self.frames_in = 0
        self.frames_out = 0

    def info(self) -> dict:
        return {
            "id": self.id,
            "filter": self.filter,
            "iterations": self.iterations,
            "connectionState": self.pc.connectionState,
            "framesIn": self.frames_in,
            "framesOut": self.frames_out,
        }


class Server:
    """The HTTP routes and the live sessions."""

    def __init__(self, max_sessions: int, buffered: bool) -> None:
        self.sessions: Dict[str, Session] = {}
        self.max_sessions = max_sessions
        self.buffered = buffered
        self.relay = MediaRelay()

    async def close_session(self, sid: str, why: str) -> bool:
        s = self.sessions.pop(sid, None)
        if s is None:
            return False
        log.info("session %s closed: %s", sid, why)
        await s.pc.close()
        return True

    async def offer(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body.get("sdp"), str) or not body["sdp"].strip():
            raise ApiError(400, "INVALID_SDP", "sdp must be a non-empty string")
        if body.get("type") != "offer":
            raise ApiError(400, "INVALID_SDP", f'type must be "offer", got {json.dumps(body.get("type"))}')
        filter_name = body.get("filter", body.get("video_transform", "none"))
        if filter_name is None:
            filter_name = "none"
        if filter_name not in FILTERS:
            raise ApiError(400, "UNKNOWN_FILTER", f"filter must be one of {', '.join(FILTERS)}, got {json.dumps(filter_name)}")
        iterations = body.get("iterations", 1)
        if not isinstance(iterations, int) or isinstance(iterations, bool) or not 1 <= iterations <= MAX_ITERATIONS:
            raise ApiError(400, "INVALID_PARAMETER", f"iterations must be an integer 1..{MAX_ITERATIONS}")
        if not re.search(r"^m=video ", body["sdp"], re.M):
            raise ApiError(400, "INVALID_SDP", "the offer has no video m-line")
        if self.max_sessions and len(self.sessions) >= self.max_sessions:
            raise ApiError(503, "AT_CAPACITY", f"{len(self.sessions)} sessions, the most this server takes")

        sid = str(uuid.uuid4())
        pc = RTCPeerConnection()
        session = Session(sid, pc, filter_name, iterations)
        self.sessions[sid] = session

        @pc.on("datachannel")
        def on_datachannel(channel) -> None:
            @channel.on("message")
            def on_message(message) -> None:
                if not isinstance(message, str):
                    return
                if message.startswith("ping"):
                    channel.send("pong" + message[4:])
                    return
                try:
                    msg = json.loads(message)
                except ValueError:
                    return
                if isinstance(msg, dict) and msg.get("type") == "ping":
                    channel.send(json.dumps({"type": "pong", "t": msg.get("t")}))

            @channel.on("close")
            def on_close() -> None:
                asyncio.ensure_future(self.close_session(sid, "data channel closed"))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close_session(sid, f"connection {pc.connectionState}")

        @pc.on("track")
        def on_track(track) -> None:
            if track.kind != "video":
                return  # audio is not sent back; the client's transceiver stays receive-only
            pc.addTrack(VideoTransformTrack(self.relay.subscribe(track, buffered=self.buffered), session))

        async def connect_watchdog() -> None:
            # A client that never completes ICE would otherwise hold its session for ever.
            await asyncio.sleep(CONNECT_TIMEOUT_S)
            if pc.connectionState != "connected":
                await self.close_session(sid, f"not connected within {CONNECT_TIMEOUT_S} s")

        asyncio.ensure_future(connect_watchdog())
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=body["sdp"], type="offer"))
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as err:  # aiortc raises ValueError and others for SDP it cannot use
            await self.close_session(sid, "negotiation failed")
            raise ApiError(400, "INVALID_SDP", f"cannot answer this offer: {err}") from err
        return web.json_response({"sdp": pc.localDescription.sdp, "type": "answer", "sessionId": sid})

    async def delete_session(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        if not await self.close_session(sid, "deleted"):
            raise ApiError(404, "SESSION_NOT_FOUND", f"no live session {json.dumps(sid)}")
        return web.Response(status=204)

    async def list_sessions(self, _request: web.Request) -> web.Response:
        return web.json_response({"sessions": [s.info() for s in self.sessions.values()]})

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({
            "status": "ok",
            "server": "aiortc",
            "aiortc": aiortc.__version__,
            "sessions": len(self.sessions),
            "maxSessions": self.max_sessions,
            "blur": "opencv" if cv2 is not None else "numpy",
            "relay": "buffered" if self.buffered else "latest",
        })

    async def _json(self, request: web.Request) -> dict:
        try:
            body = await request.json()
        except web.HTTPRequestEntityTooLarge as err:
            raise ApiError(413, "BODY_TOO_LARGE", f"the body is over {BODY_LIMIT} bytes") from err
        except ValueError as err:
            raise ApiError(400, "INVALID_JSON", "the body is not JSON") from err
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", "the body must be a JSON object")
        return body

    async def shutdown(self, _app: web.Application) -> None:
        for sid in list(self.sessions):
            await self.close_session(sid, "server stopping")


@web.middleware
async def errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err.status, err.code, err.message)
    except web.HTTPRequestEntityTooLarge:
        return error_response(413, "BODY_TOO_LARGE", f"the body is over {BODY_LIMIT} bytes")
    except web.HTTPException as err:
        code = "NOT_FOUND" if err.status == 404 else "METHOD_NOT_ALLOWED" if err.status == 405 else "HTTP_ERROR"
        return error_response(err.status, code, err.reason)
    except Exception:  # never a crash: log and answer 500
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "INTERNAL", "unexpected server error")


def use_host_candidates(host: str) -> None:
    """aioice leaves 127.0.0.1 out of its host candidates; on a loopback-only machine or network
    namespace that leaves none, so offer the bound address itself when it is a loopback one."""
    if not host.startswith("127."):
        return
    original = aioice.ice.get_host_addresses

    def addresses(use_ipv4: bool, use_ipv6: bool) -> list:
        found = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        return found if found else [host] if use_ipv4 else []

    aioice.ice.get_host_addresses = addresses


async def serve(args: argparse.Namespace) -> None:
    server = Server(args.max_sessions, args.buffered)
    app = web.Application(middlewares=[errors], client_max_size=BODY_LIMIT)
    app.router.add_post("/offer", server.offer)
    app.router.add_delete("/sessions/{sid}", server.delete_session)
    app.router.add_get("/sessions", server.list_sessions)
    app.router.add_get("/healthz", server.healthz)
    app.on_shutdown.append(server.shutdown)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = runner.addresses[0][1]
    print(f"listening on http://{args.host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(description="aiortc video-processing server (the benchmark's peer)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8081, help="port (0: a free one; default 8081)")
    p.add_argument("--max-sessions", type=int, default=0, help="503 above this many sessions (0: no limit)")
    p.add_argument("--buffered", action="store_true", help="buffered MediaRelay, as aiortc's example (default: newest frame wins)")
    p.add_argument("--verbose", "-v", action="store_true")
    args = p.parse_args()
    if not 0 <= args.port <= 65535 or args.max_sessions < 0:
        p.error("--port must be 0..65535 and --max-sessions >= 0")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    use_host_candidates(args.host)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
