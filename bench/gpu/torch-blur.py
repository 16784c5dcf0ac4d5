#!/usr/bin/env python3
"""The /process workload in PyTorch on CUDA, for comparison with the WebGPU backend.

1920x1080 RGBA8 synthetic image (byte (x, y, c) = (x*7 + y*13 + c*29 + (x ^ y)*3) & 255),
3x3 Gaussian [1 2 1; 2 4 2; 1 2 1] as a depthwise conv2d (groups=4) with replicate padding,
out = (sum + 8) >> 4, repeated `iterations` times, uint8 in and out.

Exactness: the image is held as float32 integers; every partial sum is an integer below 2^24, so
fp32 adds are exact; TF32 is switched off (its 10-bit mantissa would round sums above 2048);
(s + 8) * 0.0625 is an exact division by 16 and floor() gives the integer shift. The SHA-256 of
the output therefore equals the WebGPU and CPU backends' checksum when everything is right.

Prints one JSON object on stdout. Timing with CUDA events, median of `runs` after `warmup`. `--device cpu` runs the same
arithmetic on the CPU, to check the checksum where there is no GPU.
"""
import argparse
import hashlib
import json
import statistics
import sys
import time


def summarize(values):
    s = sorted(values)
    return {"runs": len(s), "median": round(statistics.median(s), 4), "min": round(s[0], 4),
            "p95": round(s[min(len(s) - 1, max(0, int(0.95 * len(s) + 0.999) - 1))], 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--device", default="cuda",
                    help="cuda (the benchmark) or cpu (checks the arithmetic where there is no GPU)")
    args = ap.parse_args()

    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure means "no torch here"
        print(json.dumps({"available": False, "reason": f"import torch failed: {e}"}))
        return
    on_cuda = args.device == "cuda"
    if on_cuda and not torch.cuda.is_available():
        print(json.dumps({"available": False, "reason": "torch.cuda.is_available() is False",
                          "torch_version": torch.__version__}))
        return

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    dev = torch.device(args.device)
    w, h, iters = args.width, args.height, args.iterations

    x = torch.arange(w, dtype=torch.int64).view(1, w)
    y = torch.arange(h, dtype=torch.int64).view(h, 1)
    base = x * 7 + y * 13 + (x ^ y) * 3
    c = torch.arange(4, dtype=torch.int64).view(1, 1, 4)
    host_in = ((base.unsqueeze(2) + c * 29) & 255).to(torch.uint8).contiguous()
    host_out = torch.empty_like(host_in)
    if on_cuda:
        host_in, host_out = host_in.pin_memory(), host_out.pin_memory()
    weight = torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=torch.float32, device=dev)
    weight = weight.view(1, 1, 3, 3).repeat(4, 1, 1, 1).contiguous()

    def blur(t):
        for _ in range(iters):
            s = F.conv2d(F.pad(t, (1, 1, 1, 1), mode="replicate"), weight, groups=4)
            t = torch.floor((s + 8.0) * 0.0625)
        return t

    def end_to_end():
        g = host_in.to(dev, non_blocking=True)
        t = blur(g.permute(2, 0, 1).unsqueeze(0).float())
        r = t.squeeze(0).permute(1, 2, 0).to(torch.uint8).contiguous()
        host_out.copy_(r, non_blocking=True)

    def timed(fn):
        """(device ms, wall ms) of one call: CUDA events on the GPU, the wall clock on CPU."""
        if not on_cuda:
            t0 = time.perf_counter()
            fn()
            ms = (time.perf_counter() - t0) * 1000.0
            return ms, ms
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end), (time.perf_counter() - t0) * 1000.0

    nchw = host_in.to(dev).permute(2, 0, 1).unsqueeze(0).float().contiguous()
    kernel, e2e_events, e2e_wall = [], [], []
    for i in range(args.warmup + args.runs):
        ms, _ = timed(lambda: blur(nchw))
        if i >= args.warmup:
            kernel.append(ms)
    for i in range(args.warmup + args.runs):
        ms, wall = timed(end_to_end)
        if i >= args.warmup:
            e2e_events.append(ms)
            e2e_wall.append(wall)

    checksum = hashlib.sha256(host_out.numpy().tobytes()).hexdigest()
    print(json.dumps({
        "available": True,
        "device": torch.cuda.get_device_name(0) if on_cuda else "cpu (arithmetic check only)",
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "timing": "CUDA events" if on_cuda else "wall clock",
        "method": "F.conv2d depthwise (groups=4) on F.pad(mode='replicate'), float32 without TF32, "
                  "floor((s+8)/16) per iteration; uint8 HWC in/out",
        "kernel_ms": summarize(kernel),
        "end_to_end_ms": summarize(e2e_events),
        "end_to_end_wall_ms": summarize(e2e_wall),
        "checksum": checksum,
    }))


if __name__ == "__main__":
    sys.exit(main())
