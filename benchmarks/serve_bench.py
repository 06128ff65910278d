"""Load-test ``shorttext-s2s serve``: concurrent clients on loopback, batching on and off.

Starts the real server (``python -m shorttext_s2s serve MODEL --port 0``) on 127.0.0.1, once
with dynamic batching and once with ``--no-batching`` (each request decoded alone), and for
each number of clients runs that many clients for a bounded time. Each client keeps one
HTTP/1.1 connection and sends one English sentence of fra.txt per request, greedy, as a chat
page would, waiting for each answer before the next. It prints requests per second, the
median and 99th-percentile latency, the mean number of requests decoded together (from
``/healthz``) and the error count (any answer but 200 is an error), and exits with status 1
if there was any error. With ``--workers 1,2`` the batching server is measured with each
number of worker processes (``serve --workers N``). Usage (from the repository root)::

    nice python benchmarks/serve_bench.py MODEL.h5                       # 1, 8, 64 clients, 30 s
    nice python benchmarks/serve_bench.py MODEL.h5 --clients 64 --duration 10
    nice python benchmarks/serve_bench.py MODEL.h5 --modes on --workers 1,2 --clients 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List, Tuple

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"
HOST = "127.0.0.1"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a model file written by 'shorttext-s2s train'")
    parser.add_argument("--clients", default="1,8,64",
                        help="comma-separated numbers of concurrent clients (default 1,8,64)")
    parser.add_argument("--duration", type=float, default=30.0,
                        help="seconds measured per number of clients (default 30)")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds of load before each measurement, not counted "
                             "(default 3)")
    parser.add_argument("--modes", default="on,off",
                        help="dynamic batching on, off or both (default on,off)")
    parser.add_argument("--workers", default="1",
                        help="comma-separated worker process counts of the batching server "
                             "(default 1)")
    parser.add_argument("--max-delay-ms", type=float, default=5.0,
                        help="the server's --max-delay-ms (default 5)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="pairs file whose first column is sent (default: %(default)s)")
    parser.add_argument("--sentences", type=int, default=2000,
                        help="distinct sentences sent, in turn (default 2000)")
    return parser.parse_args(argv)


def read_sentences(path: Path, count: int) -> List[str]:
    seen, sentences = set(), []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            source = line.split("\t", 1)[0].strip()
            if source and source not in seen:
                seen.add(source)
                sentences.append(source)
                if len(sentences) == count:
                    break
    return sentences


class Server:
    def __init__(self, model: str, *options: str, workers: int = 1) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shorttext_s2s", "serve", model, "--host", HOST, "--port",
             "0", "--log-level", "warning", "--workers", str(workers), *options],
            stdout=subprocess.PIPE, text=True, env=env)
        lines: "queue.Queue" = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout],
                         daemon=True).start()
        started = time.monotonic()
        ready = 0
        while ready < workers:  # each worker says when it is ready
            try:
                line = lines.get(timeout=900)
            except queue.Empty:
                line = ""
            found = re.search(r"serving on http://[\d.]+:(\d+)", line)
            if line and not found:
                continue
            if not found:
                self.stop()
                sys.exit("the server did not start")
            self.port, ready = int(found.group(1)), ready + 1
        print(f"  server ready in {time.monotonic() - started:.0f} s (load and warm-up)",
              flush=True)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def _client(port: int, sentences: List[str], start: int, stop_at: float,
                  count_from: float, latencies: List[float], errors: List[str]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    index = start
    try:
        while time.monotonic() < stop_at:
            body = json.dumps({"texts": [sentences[index % len(sentences)]]}).encode()
            index += 1
            began = time.monotonic()
            writer.write(b"POST /v1/decode HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                         b"application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (HOST.encode(), len(body), body))
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            content = await reader.readexactly(length)
            if began >= count_from:
                latencies.append(time.monotonic() - began)
                if status != 200:
                    errors.append(f"{status} {content[:200]!r}")
    finally:
        writer.close()


def counts(port: int) -> Tuple[int, int]:
    """Requests answered and decoding calls made so far, from ``/healthz``."""
    import urllib.request

    with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=60) as response:
        health = json.loads(response.read())
    return health["requests"], health["batches"]


def measure(port: int, sentences: List[str], clients: int, settle: float,
            duration: float, workers: int) -> Tuple[float, float, float, int, float]:
    """Requests/s, p50 and p99 latency (ms), errors, and requests a batch (NaN with several
    workers: each counts its own, and ``/healthz`` reaches one of them)."""
    latencies: List[float] = []
    errors: List[str] = []
    requests_before, batches_before = counts(port)

    async def main():
        now = time.monotonic()
        count_from, stop_at = now + settle, now + settle + duration
        await asyncio.gather(*(
            _client(port, sentences, i * 7919, stop_at, count_from, latencies, errors)
            for i in range(clients)))

    try:
        import uvloop  # the server's own loop when installed; the client is cheaper with it too
        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    for error in errors[:3]:
        print(f"  error: {error}", file=sys.stderr)
    ordered = sorted(latencies)

    def percentile(share: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    requests_after, batches_after = counts(port)
    per_batch = (requests_after - requests_before) / max(1, batches_after - batches_before)
    if workers > 1:
        per_batch = float("nan")
    return (len(latencies) / duration, percentile(0.5), percentile(0.99), len(errors),
            per_batch)


def main(argv=None) -> int:
    args = parse_args(argv)
    sentences = read_sentences(args.data, args.sentences)
    clients = [int(part) for part in args.clients.split(",")]
    worker_counts = [int(part) for part in args.workers.split(",")]
    import platform

    print(f"model {args.model}, {len(sentences)} sentences, {os.cpu_count()} CPUs, "
          f"backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}, {platform.python_version()}",
          flush=True)
    rows = []
    for mode in args.modes.split(","):
        # Batches never exceed the clients' requests; alone, one shape is all there is.
        largest = 1 if mode == "off" else 1 << (max(clients) - 1).bit_length()
        options = ["--max-delay-ms", str(args.max_delay_ms), "--max-batch", str(largest)]
        for workers in (worker_counts if mode == "on" else [1]):
            print(f"dynamic batching {mode}, {workers} worker(s):", flush=True)
            server = Server(args.model, *options,
                            *(["--no-batching"] if mode == "off" else []), workers=workers)
            try:
                for count in clients:
                    rate, p50, p99, errors, per_batch = measure(
                        server.port, sentences, count, args.settle, args.duration, workers)
                    rows.append((mode, workers, count, rate, p50, p99, per_batch, errors))
                    print(f"  {count:3d} clients: {rate:8.1f} requests/s, p50 {p50:7.1f} ms, "
                          f"p99 {p99:7.1f} ms, {per_batch:5.1f} requests a batch, {errors} "
                          f"errors", flush=True)
            finally:
                server.stop()
    print()
    print("batching  workers  clients  requests/s  p50 (ms)  p99 (ms)  requests/batch  errors")
    for mode, workers, count, rate, p50, p99, per_batch, errors in rows:
        print(f"{mode:<8}  {workers:7d}  {count:7d}  {rate:10.1f}  {p50:8.1f}  {p99:8.1f}  "
              f"{per_batch:14.1f}  {errors:6d}")
    on = {count: rate for mode, workers, count, rate, *_ in rows
          if mode == "on" and workers == worker_counts[0]}
    off = {count: rate for mode, workers, count, rate, *_ in rows if mode == "off"}
    for count in clients:
        if on.get(count) and off.get(count):
            print(f"{count} clients: batching gives {on[count] / off[count]:.1f}x the "
                  f"requests/s")
    return 1 if any(row[-1] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
