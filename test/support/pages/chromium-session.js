// Runs in Chromium (loaded by test/support/chromium-client.ts): one session against the
// page's own origin. Camera in (Chromium's fake device), processed video out, both pictures
// sampled on a canvas; returns what it measured. Plain JavaScript: the root tsconfig has no DOM.

/** The MIME type of the video codec `pc` receives (from getStats), or null. */
async function inboundVideoCodec(pc) {
  const stats = await pc.getStats();
  const codecs = new Map();
  let inbound = null;
  stats.forEach((s) => {
    if (s.type === 'codec' && s.mimeType) codecs.set(s.id, s.mimeType);
    if (s.type === 'inbound-rtp' && s.kind === 'video' && s.codecId) inbound = s.codecId;
  });
  return inbound === null ? null : (codecs.get(inbound) || null);
}

/** Set the local offer and wait for ICE gathering (at most 3 s): the server takes no trickle from /offer. */
async function offerGathered(pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    setTimeout(resolve, 3000);
  });
}

/** Resolves once video `v` shows a picture (checked every `everyMs`); rejects after 20 s. */
function firstPicture(v, what, everyMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${what} within 20 s`)), 20000);
    const check = () => {
      if (v.videoWidth > 0 && v.readyState >= 2) { clearTimeout(t); resolve(); } else setTimeout(check, everyMs);
    };
    check();
  });
}

/** Counts the frames video `v` renders from now on (read `.frames`). */
function countFrames(v) {
  const counter = { frames: 0 };
  const tick = () => { counter.frames++; v.requestVideoFrameCallback(tick); };
  v.requestVideoFrameCallback(tick);
  return counter;
}

/** A function that returns the mean R, G, B of a video's current picture, drawn at 160x120. */
function pictureMean() {
  const canvas = document.createElement('canvas');
  canvas.width = 160;
  canvas.height = 120;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return (v) => {
    ctx.drawImage(v, 0, 0, canvas.width, canvas.height);
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const m = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) { m[0] += d[i]; m[1] += d[i + 1]; m[2] += d[i + 2]; }
    const n = d.length / 4;
    return [m[0] / n, m[1] / n, m[2] / n];
  };
}

window.runSession = async ({ filter, preferCodec, sampleMs }) => {
  const result = {
    sendCodecs: (RTCRtpSender.getCapabilities('video')?.codecs ?? []).map((c) => c.mimeType),
    codec: null, framesReceived: 0,
    sentMean: [0, 0, 0], receivedMean: [0, 0, 0],
    jitterBufferTarget: null, error: null,
  };
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { exact: 320 }, height: { exact: 240 }, frameRate: 30 } });
  const pc = new RTCPeerConnection();
  try {
    const tr = pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendrecv', streams: [stream] });
    if (preferCodec) {
      const caps = RTCRtpReceiver.getCapabilities('video')?.codecs ?? [];
      // offer that codec alone (with RTX): the native engine would answer H264 wherever it is listed
      tr.setCodecPreferences(caps.filter((c) => c.mimeType === preferCodec || c.mimeType === 'video/rtx'));
    }
    pc.createDataChannel('control');
    const remote = new Promise((resolve) => { pc.ontrack = (ev) => resolve(ev.track); });
    await offerGathered(pc);
    const res = await fetch('/offer', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: 'offer', filter }),
    });
    const body = await res.json();
    if (!res.ok || !body.sdp) throw new Error(`offer answered ${res.status}: ${(body.error && body.error.message) || ''}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: body.sdp });
    const track = await remote;
    const rx = pc.getReceivers().find((r) => r.track === track);
    if ('jitterBufferTarget' in rx) {
      rx.jitterBufferTarget = 0;
      result.jitterBufferTarget = rx.jitterBufferTarget === undefined ? null : rx.jitterBufferTarget;
    }

    const video = (s) => {
      const v = document.createElement('video');
      v.muted = true;
      v.srcObject = s;
      void v.play();
      return v;
    };
    const sent = video(stream);
    const got = video(new MediaStream([track]));
    await firstPicture(got, 'processed frame', 50);
    const counter = countFrames(got);

    const mean = pictureMean();
    const samples = Math.max(1, Math.round(sampleMs / 100));
    for (let i = 0; i < samples; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const a = mean(sent);
      const b = mean(got);
      for (let c = 0; c < 3; c++) { result.sentMean[c] += a[c] / samples; result.receivedMean[c] += b[c] / samples; }
    }
    result.framesReceived = counter.frames;
    result.codec = await inboundVideoCodec(pc);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    pc.close();
    for (const t of stream.getTracks()) t.stop();
  }
  return result;
};

// One WHEP viewer of session `sessionId` (draft-ietf-wish-whep): a recvonly offer POSTed as
// application/sdp, the processed video sampled on a canvas for `sampleMs`, then DELETE.
window.watchWhep = async ({ sessionId, sampleMs }) => {
  const result = { status: null, codec: null, framesReceived: 0, receivedMean: [0, 0, 0], firstFrameMs: null, deleteStatus: null, error: null };
  const pc = new RTCPeerConnection();
  const t0 = performance.now();
  let location = null;
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    const remote = new Promise((resolve) => { pc.ontrack = (ev) => resolve(ev.track); });
    await offerGathered(pc);
    const res = await fetch(`/whep/${sessionId}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
    result.status = res.status;
    const text = await res.text();
    if (res.status !== 201) throw new Error(`WHEP answered ${res.status}: ${text.slice(0, 200)}`);
    location = res.headers.get('location');
    await pc.setRemoteDescription({ type: 'answer', sdp: text });
    const v = document.createElement('video');
    v.muted = true;
    v.srcObject = new MediaStream([await remote]);
    void v.play();
    await firstPicture(v, 'frame', 20);
    result.firstFrameMs = Math.round(performance.now() - t0);
    const counter = countFrames(v);
    const mean = pictureMean();
    const samples = Math.max(1, Math.round(sampleMs / 100));
    for (let i = 0; i < samples; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const m = mean(v);
      for (let c = 0; c < 3; c++) result.receivedMean[c] += m[c] / samples;
    }
    result.framesReceived = counter.frames;
    result.codec = await inboundVideoCodec(pc);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    if (location) result.deleteStatus = (await fetch(location, { method: 'DELETE' })).status;
    pc.close();
  }
  return result;
};
