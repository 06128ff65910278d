"""Serving a model: the dynamic batcher in-process, then the real server and its chat page.

The server tests start ``shorttext-s2s serve`` as users do, on a free loopback port chosen at
run time, and talk to it over HTTP; the browser test drives the chat page in headless
Chromium. Those are marked ``slow``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import keras
import numpy as np
import pytest

import shorttext_s2s
from shorttext_s2s.serving.batcher import DynamicBatcher
from shorttext_s2s.decoding import get_strategy, trace_count

from conftest import under_one_backend

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))
COMMAND = [sys.executable, "-m", "shorttext_s2s"]
#: The limits the test server runs with (small, so that tests can cross them cheaply).
MAX_TEXTS, MAX_CHARS, MAX_BODY = 8, 100, 4096
#: Bounds on waiting for the server, so that a broken one fails the test instead of hanging.
START_TIMEOUT, REQUEST_TIMEOUT = 300, 120


def sources(pairs, count=None):
    return [source for source, _ in pairs[:count]]


# --- the batcher, in-process ----------------------------------------------------------------

def gather(batcher: DynamicBatcher, calls) -> list:
    """Submit every call in the same event-loop turn, so all wait when the batcher looks."""
    async def main():
        try:
            return await asyncio.gather(*(batcher.decode(*call) for call in calls))
        finally:
            await batcher.close()
    return asyncio.run(main())


def test_concurrent_requests_are_decoded_in_one_batch_and_answered_separately(
        trained_generator, tiny_pairs):
    texts = sources(tiny_pairs, 12)
    requests = [texts[i:i + 3] for i in range(0, 12, 3)] + [[texts[0]], []]
    batcher = DynamicBatcher(trained_generator, max_delay=0.05)
    found = gather(batcher, [(request, get_strategy("greedy")) for request in requests])
    assert [[each[0][0] for each in answer] for answer in found] == \
        [trained_generator.decode_batch(request) for request in requests]
    assert (batcher.requests, batcher.batches) == (5, 1)  # the empty request needs no decoding


@pytest.mark.slow
def test_each_setting_is_its_own_batch_and_seeded_samples_repeat(trained_generator,
                                                                 tiny_pairs):
    texts = sources(tiny_pairs, 6)
    beam = get_strategy("beam", beam_width=3, num_results=2)
    sample = get_strategy("sample", temperature=2.0)
    calls = [(texts[:2], get_strategy("greedy")), (texts[2:4], beam, None, 2),
             (texts[4:], get_strategy("greedy")), (texts[:3], sample, 9), (texts[3:], sample, 9),
             (texts, sample), (texts[:1], beam, 123, 1)]
    batcher = DynamicBatcher(trained_generator)
    found = gather(batcher, calls)
    # greedy (2 requests), beam (2: the seed of a deterministic strategy is ignored), the
    # unseeded sample, and each seeded sample alone.
    assert batcher.batches == 5
    assert [each[0][0] for each in found[0] + found[2]] == \
        trained_generator.decode_batch(texts[:2] + texts[4:])
    alone = [trained_generator.decode_nbest(text, beam_width=3, num_results=2)
             for text in texts[2:4]]
    # The same answers; their scores to float precision (batch shapes round differently).
    assert [[text for text, _ in each] for each in found[1]] == \
        [[text for text, _ in each] for each in alone]
    np.testing.assert_allclose([score for each in found[1] for _, score in each],
                               [score for each in alone for _, score in each], rtol=1e-5)
    # A seeded sample answers what decode_batch answers with that seed, whatever runs beside.
    for answer, part in ((found[3], texts[:3]), (found[4], texts[3:])):
        assert [each[0][0] for each in answer] == \
            trained_generator.decode_batch(part, strategy=sample, seed=9)
    assert len(found[5]) == len(texts) and all(len(each) == 1 for each in found[5])


def test_batch_limit_and_batching_off(trained_generator, tiny_pairs):
    texts = sources(tiny_pairs, 6)
    calls = [(texts[i:i + 2], get_strategy("greedy")) for i in range(0, 6, 2)]
    limited = DynamicBatcher(trained_generator, max_batch=4)
    alone = DynamicBatcher(trained_generator, enabled=False)
    found, found_alone = gather(limited, calls), gather(alone, calls)
    assert _texts(found) == _texts(found_alone)
    np.testing.assert_allclose(_scores(found), _scores(found_alone), rtol=1e-5)
    assert (limited.batches, alone.batches) == (2, 3)


def _texts(found):
    return [[[text for text, _ in each] for each in answer] for answer in found]


def _scores(found):
    return [score for answer in found for each in answer for _, score in each]


@pytest.mark.slow
@pytest.mark.parametrize("separator", [None, " "], ids=["characters", "units"])
def test_warm_up_compiles_every_shape_a_request_meets(separator):
    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
    from tools.fuzz_loader import mark_trained

    # Sizes no other test uses, so that nothing is compiled before the warm-up.
    keras.utils.set_random_seed(5)
    encoder = SentenceToCharVecEncoder("abcdefg", source_sep=separator)
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=14 if separator is None else 18,
                                          maxlen=20, network="lstm")
    generator.compile()
    mark_trained(generator)
    batcher = DynamicBatcher(generator, max_batch=4)
    assert batcher.warm_up([get_strategy("greedy")]) == 2 * 3  # lengths 16, 20; sizes 1, 2, 4
    before = trace_count()
    texts = ["", "a", "abc" * 5, "g" * 16, "fed" * 20]
    if separator is not None:
        texts = [separator.join(text) for text in texts]
    gather(batcher, [(texts[:n], get_strategy("greedy")) for n in (1, 2, 3, 4)])
    assert trace_count() == before


# --- the real server ------------------------------------------------------------------------

class Server:
    """A ``shorttext-s2s serve`` process and the URL it announced."""

    def __init__(self, model: Path, *options: str, workers: int = 1) -> None:
        if workers > 1:
            options += ("--workers", str(workers))
        self.process = subprocess.Popen(
            COMMAND + ["serve", str(model), "--port", "0", "--log-level", "warning",
                       *options],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def read():
            for line in self.process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        #: What the command printed before it was ready (every worker, with workers).
        self.start_lines: List[str] = []
        #: The process id of each worker that said it was ready.
        self.worker_pids: List[int] = []
        while len(self.worker_pids) < workers:
            try:
                line = lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                pytest.fail(f"the server did not start: {self.start_lines}; stderr: "
                            f"{self.process.stderr.read()[-3000:]}")
            self.start_lines.append(line)
            found = re.search(r"^(?:worker (\d+): )?serving on (http://127\.0\.0\.1:\d+)",
                              line)
            if found:
                self.worker_pids.append(int(found.group(1) or self.process.pid))
                self.url = found.group(2)

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def call(url: str, method: str = "GET", body: Any = None, raw: Optional[bytes] = None,
         headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], bytes]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def decode(server: Server, body: Any) -> Dict:
    status, _, content = call(server.url + "/v1/decode", "POST", body)
    assert status == 200, content
    return json.loads(content)


#: The example input saved with the served model (the chat page's placeholder).
EXAMPLE = "Hello there."


@pytest.fixture(scope="module")
def served_file(trained_generator, tmp_path_factory) -> Path:
    """The shared model, saved with an example input."""
    path = tmp_path_factory.mktemp("served") / "tiny.h5"
    trained_generator.save_compact_model(path, final=True)
    copy = shorttext_s2s.loadCharBasedSeq2SeqGenerator(path)
    copy.example_input = EXAMPLE
    copy.save_compact_model(path, final=True)
    return path


@pytest.fixture(scope="module")
def server(served_file) -> Iterator[Server]:
    running = Server(served_file, "--max-texts", str(MAX_TEXTS), "--max-chars", str(MAX_CHARS),
                     "--max-body-bytes", str(MAX_BODY), "--max-batch", "8",
                     "--max-beam-width", "4")
    yield running
    running.stop()


@pytest.mark.slow
def test_decode_answers_what_the_library_answers(server, trained_generator, tiny_pairs):
    texts = sources(tiny_pairs, MAX_TEXTS)
    assert decode(server, {"texts": texts}) == \
        {"outputs": trained_generator.decode_batch(texts)}
    assert decode(server, {"texts": []}) == {"outputs": []}
    sample = {"texts": texts, "strategy": "sample", "temperature": 1.5, "top_k": 3, "seed": 7}
    expected = trained_generator.decode_batch(
        texts, strategy=get_strategy("sample", temperature=1.5, top_k=3), seed=7)
    assert decode(server, sample)["outputs"] == expected
    assert decode(server, sample)["outputs"] == expected  # repeatable
    beam = decode(server, {"texts": texts[:3], "strategy": "beam", "beam_width": 3,
                           "num_results": 2})
    nbest = [trained_generator.decode_nbest(text, beam_width=3, num_results=2)
             for text in texts[:3]]
    assert beam["outputs"] == [found[0][0] for found in nbest]
    assert [[(each["text"], pytest.approx(each["log_prob"], abs=1e-4)) for each in found]
            for found in beam["nbest"]] == nbest
    # Without a width, the library's default (5) unless the server allows less (4 here).
    assert decode(server, {"texts": texts[:2], "strategy": "beam"})["outputs"] == \
        [trained_generator.decode_nbest(text, beam_width=4)[0][0] for text in texts[:2]]


@pytest.mark.slow
def test_concurrent_clients_each_get_their_own_answer(server, trained_generator, tiny_pairs):
    texts = sources(tiny_pairs)
    requests = [texts[i % len(texts):i % len(texts) + 1 + i % 3] for i in range(24)]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda part: decode(server, {"texts": part}), requests))
    assert [answer["outputs"] for answer in answers] == \
        [trained_generator.decode_batch(part) for part in requests]


@pytest.mark.slow
def test_model_health_and_openapi_pages(server, served_file, trained_generator):
    # The warm-up said what it was doing before the ready line.
    assert len(server.start_lines) == 2
    assert re.match(r"warming up: compiling the decoder for \d+ batch shapes",
                    server.start_lines[0])
    status, _, content = call(server.url + "/v1/model")
    info = json.loads(content)
    assert status == 200
    assert info["network"] == "lstm" and info["bidirectional"] is False
    assert (info["vocabulary_size"], info["maxlen"], info["latent_dim"]) == \
        (len(trained_generator.encoder), trained_generator.maxlen, trained_generator.latent_dim)
    # The model reads maxlen - 1 characters, fewer than the server's own limit.
    assert info["max_input_chars"] == trained_generator.maxlen - 1 < MAX_CHARS
    assert info["example_input"] == EXAMPLE
    assert info["sha256"] == hashlib.sha256(served_file.read_bytes()).hexdigest()
    assert info["library_version"] == shorttext_s2s.__version__
    assert info["backend"] == keras.backend.backend()
    assert info["limits"]["max_chars"] == MAX_CHARS

    health = json.loads(call(server.url + "/healthz")[2])
    decode(server, {"texts": ["Go."]})
    after = json.loads(call(server.url + "/healthz")[2])
    assert health["status"] == after["status"] == "ok"
    assert after["requests"] == health["requests"] + 1
    assert health["pid"] == server.process.pid
    assert call(server.url + "/readyz")[:3:2] == (200, b'{"status":"ready"}')

    status, _, content = call(server.url + "/openapi.json")
    schema = json.loads(content)["paths"]["/v1/decode"]["post"]["requestBody"]
    assert status == 200
    assert schema["content"]["application/json"]["schema"]["properties"]["texts"]["maxItems"] \
        == MAX_TEXTS
    status, headers, content = call(server.url + "/docs")
    assert status == 200 and b"openapi.json" in content


@pytest.mark.slow
def test_chat_page_is_one_self_contained_file(server):
    status, headers, content = call(server.url + "/")
    page = content.decode("utf-8")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert 'id="message"' in page and 'id="strategy"' in page
    # Works offline: nothing is fetched from another host.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"""(fetch\(|@import|url\()\s*["']?(https?:)?//""", page)


BAD_REQUESTS = [
    # (what, raw body, status, field named)
    ("malformed JSON", b'{"texts": ["Go."', 400, "body"),
    ("not UTF-8", b'{"texts": ["\xff"]}', 400, "body"),
    ("NaN is not JSON", b'{"texts": ["Go."], "strategy": "sample", "temperature": NaN}', 400,
     "body"),
    ("not an object", b'["Go."]', 422, "body"),
    ("no texts", b'{}', 422, "texts"),
    ("texts not a list", b'{"texts": "Go."}', 422, "texts"),
    ("a text not a string", b'{"texts": ["Go.", 3]}', 422, "texts[1]"),
    ("too many texts", json.dumps({"texts": ["a"] * (MAX_TEXTS + 1)}).encode(), 422, "texts"),
    ("text too long", json.dumps({"texts": ["a" * (MAX_CHARS + 1)]}).encode(), 422, "texts[0]"),
    ("unknown strategy", b'{"texts": ["Go."], "strategy": "nucleus"}', 422, "strategy"),
    ("negative temperature", b'{"texts": ["Go."], "strategy": "sample", "temperature": -1}',
     422, "temperature"),
    ("temperature a string", b'{"texts": ["Go."], "strategy": "sample", "temperature": "hot"}',
     422, "temperature"),
    ("top_k 0", b'{"texts": ["Go."], "strategy": "sample", "top_k": 0}', 422, "top_k"),
    ("top_k a bool", b'{"texts": ["Go."], "strategy": "sample", "top_k": true}', 422, "top_k"),
    ("beam too wide", b'{"texts": ["Go."], "strategy": "beam", "beam_width": 5}', 422,
     "beam_width"),
    ("more results than beams", b'{"texts": ["Go."], "strategy": "beam", "beam_width": 2, '
                                b'"num_results": 4}', 422, "num_results"),
    ("option of another strategy", b'{"texts": ["Go."], "temperature": 0.5}', 422,
     "temperature"),
    ("n-best without beam", b'{"texts": ["Go."], "strategy": "sample", "num_results": 2}', 422,
     "num_results"),
    ("negative seed", b'{"texts": ["Go."], "strategy": "sample", "seed": -1}', 422, "seed"),
    ("fractional seed", b'{"texts": ["Go."], "seed": 1.5}', 422, "seed"),
    ("unknown field", b'{"texts": ["Go."], "text": "Go."}', 422, "text"),
]


@pytest.mark.slow
@pytest.mark.parametrize("what, raw, status, field", BAD_REQUESTS,
                         ids=[case[0] for case in BAD_REQUESTS])
def test_bad_request_gets_a_4xx_naming_the_field_and_the_server_goes_on(
        server, what, raw, status, field):
    got, headers, content = call(server.url + "/v1/decode", "POST", raw=raw)
    assert got == status, content
    assert headers["content-type"] == "application/json"
    error = json.loads(content)["error"]
    assert error["field"] == field
    assert field in error["message"] or field == "body"
    assert "Traceback" not in content.decode("utf-8", "replace")
    assert decode(server, {"texts": ["Go."]})["outputs"]


@pytest.mark.slow
def test_texts_longer_than_the_model_reads_are_refused_naming_the_limit(
        server, trained_generator):
    limit = trained_generator.maxlen - 1
    status, _, content = call(server.url + "/v1/decode", "POST",
                              {"texts": ["Go.", "a" * (limit + 1)]})
    assert status == 422, content
    error = json.loads(content)["error"]
    assert error["field"] == "texts[1]"
    assert f"more than the {limit} this model reads" in error["message"]
    assert f"maxlen {trained_generator.maxlen}" in error["message"]
    assert decode(server, {"texts": ["a" * limit]})["outputs"]


@pytest.mark.slow
def test_the_answer_says_which_texts_were_not_read_as_given(server, trained_generator):
    texts = ["Go.", "", "Go\u2603"]
    answer = decode(server, {"texts": texts})
    with pytest.warns(shorttext_s2s.InputWarning):
        assert answer["outputs"] == trained_generator.decode_batch(texts)
    assert answer["warnings"] == [
        {"field": "texts[1]", "message": "empty"},
        {"field": "texts[2]", "message": "characters the model never saw: '\u2603'"}]


def raw_post(server: Server, framing: bytes, body: bytes) -> Tuple[bytes, bytes]:
    """POST in one write on a raw socket; return the status line and the body of the answer.

    The server answers an oversized body early and closes; it has read the whole request by
    then only if the request came in one write (an unread rest would reset the connection
    before the client reads the answer, as with a client that sends in pieces).
    """
    host, port = server.url.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=REQUEST_TIMEOUT) as connection:
        connection.sendall(b"POST /v1/decode HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                           b"application/json\r\nConnection: close\r\n%s\r\n%s"
                           % (host.encode(), framing, body))
        response = b""
        while True:
            received = connection.recv(65536)
            if not received:
                break
            response += received
    head, _, content = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], content


@pytest.mark.slow
def test_body_limit_with_and_without_a_declared_length(server):
    body = b'{"texts": ["' + b"a" * MAX_BODY + b'"]}'
    declared = b"Content-Length: %d\r\n" % len(body)
    # Chunked transfer declares no length: the server counts what arrives.
    chunked = b"Transfer-Encoding: chunked\r\n", b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    for framing, content in ((declared, body), chunked):
        status, answer = raw_post(server, framing, content)
        assert status.startswith(b"HTTP/1.1 413"), status
        assert json.loads(answer)["error"]["field"] == "body"
        assert decode(server, {"texts": ["Go."]})["outputs"]
    for path, method in (("/v1/nothing", "GET"), ("/v1/decode", "GET")):
        status, headers, content = call(server.url + path, method)
        assert status in (404, 405) and "error" in json.loads(content)
    assert decode(server, {"texts": ["Go."]})["outputs"]


# --- the command's own errors -----------------------------------------------------------------

@pytest.mark.slow
@under_one_backend("process plumbing")
def test_workers_share_the_port_and_sigterm_lets_requests_in_flight_finish(
        served_file, trained_generator, tiny_pairs):
    # A request waits up to 3 s in a worker's batcher for others: long enough to be in flight
    # when the server is told to stop.
    running = Server(served_file, "--max-delay-ms", "3000", "--max-batch", "8", workers=2)
    try:
        assert len(set(running.worker_pids)) == 2
        assert running.process.pid not in running.worker_pids
        assert call(running.url + "/readyz")[0] == 200
        # Each connection goes to one worker or the other; both answer.
        seen = set()
        for _ in range(300):
            seen.add(json.loads(call(running.url + "/healthz")[2])["pid"])
            if seen == set(running.worker_pids):
                break
        assert seen == set(running.worker_pids)
        texts = sources(tiny_pairs, 8)
        with ThreadPoolExecutor(8) as pool:
            waiting = [pool.submit(decode, running, {"texts": [text]}) for text in texts]
            threading.Event().wait(1.0)
            running.process.send_signal(signal.SIGTERM)
            answers = [each.result()["outputs"][0] for each in waiting]
        assert answers == trained_generator.decode_batch(texts)
        assert running.process.wait(timeout=60) == 0
        for pid in running.worker_pids:  # the workers are gone with the server
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if running.process.poll() is None:
            running.stop()


def run_serve(*args: str, prelude: str = "") -> subprocess.CompletedProcess:
    code = f"import sys\n{prelude}\nfrom shorttext_s2s.cli import main\nsys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "serve", *args], capture_output=True,
                          text=True, env=ENV, timeout=START_TIMEOUT)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines()
             if line.startswith("shorttext-s2s")]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    return lines[0]


@under_one_backend("command plumbing")
def test_serve_start_up_errors_are_one_line(tmp_path, model_file):
    missing = one_line_error(run_serve(str(tmp_path / "missing.h5")))
    assert "missing.h5: no such model file" in missing
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(model_file.read_bytes()[:5000])
    assert "damaged.h5" in one_line_error(run_serve(str(damaged)))
    # Without the extra installed: the message says what to install.
    blocked = "sys.modules['fastapi'] = sys.modules['uvicorn'] = None"
    no_extra = one_line_error(run_serve(str(model_file), prelude=blocked))
    assert "pip install 'shorttext-s2s[serve]'" in no_extra
    # With workers, the file is checked once, before any worker starts.
    assert "missing.h5: no such model file" in one_line_error(
        run_serve(str(tmp_path / "missing.h5"), "--workers", "2"))
    bad_port = run_serve(str(model_file), "--port", "70000")
    assert bad_port.returncode == 2 and "--port" in bad_port.stderr


# --- the chat page in a real browser ----------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are not installed (Debian: apt-get install "
                    "chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                              options=options)
    driver.set_page_load_timeout(REQUEST_TIMEOUT)
    yield driver
    driver.quit()


@pytest.mark.slow
@under_one_backend("the page's own behaviour")
def test_chat_page_in_a_browser(server, browser, trained_generator):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, REQUEST_TIMEOUT)
    browser.get(server.url + "/")
    wait.until(lambda driver: "units" in driver.find_element(By.ID, "model").text)
    # The model's own limit and example, not the server's defaults or another model's.
    limit = trained_generator.maxlen - 1
    assert f"reads at most {limit} characters" in browser.find_element(By.ID, "model").text
    assert browser.find_element(By.ID, "message").get_attribute("placeholder") == \
        f"Type a message, e.g. {EXAMPLE}"

    def send(text: str) -> None:
        box = browser.find_element(By.ID, "message")
        box.clear()
        box.send_keys(text)
        browser.find_element(By.ID, "send").click()

    def replies():
        return browser.find_elements(By.CSS_SELECTOR, ".turn.reply")

    send("Happy Holiday!")
    wait.until(lambda driver: len(replies()) == 1)
    expected = trained_generator.decode_batch(["Happy Holiday!"])[0]
    assert replies()[0].text.startswith("model " + expected)
    assert replies()[0].get_attribute("data-strategy") == "greedy"

    for strategy in ("sample", "beam"):
        Select(browser.find_element(By.ID, "strategy")).select_by_value(strategy)
        count = len(replies())
        send("Happy Holiday!")
        wait.until(lambda driver: len(replies()) == count + 1)
        assert replies()[-1].get_attribute("data-strategy") == strategy

    count = len(replies())
    send("x" * (limit + 1))
    error = browser.find_element(By.ID, "error")
    wait.until(lambda driver: error.is_displayed())
    assert "too long" in error.text and f"at most {limit} characters" in error.text
    assert len(replies()) == count

    send("Go.")  # the error goes away with the next good message
    wait.until(lambda driver: len(replies()) == count + 1)
    assert not error.is_displayed()


def test_closing_fails_every_request_not_answered_yet():
    """Also those of the batch under way, taken from the queue: none waits forever."""
    import threading

    started, release = threading.Event(), threading.Event()

    class Slow:  # a generator whose decoding does not end until released
        maxlen = 8

        def decode_scored(self, texts, strategy, seed, **options):
            started.set()
            release.wait(30)
            return [[("x", 0.0)] for _ in texts]

    async def main():
        batcher = DynamicBatcher(Slow(), max_delay=0.01)
        calls = [asyncio.ensure_future(batcher.decode(["a"], get_strategy(name)))
                 for name in ("greedy", "beam", "greedy")]
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 30)
        await asyncio.wait_for(batcher.close(), 10)
        return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)

    try:
        answers = asyncio.run(main())
    finally:
        release.set()
    assert [type(answer) for answer in answers] == [RuntimeError] * 3
    assert all("shutting down" in str(answer) for answer in answers)


@pytest.mark.slow
def test_a_body_that_is_not_declared_json_is_refused_with_415(server):
    # A page on any site may POST text/plain without a CORS preflight: it must not decode.
    for kind in ("text/plain", "application/x-www-form-urlencoded", ""):
        got, _, content = call(server.url + "/v1/decode", "POST", raw=b'{"texts": ["Go."]}',
                               headers={"Content-Type": kind})
        assert got == 415, content
        assert json.loads(content)["error"]["field"] == "Content-Type"
    got, _, _ = call(server.url + "/v1/decode", "POST", raw=b'{"texts": ["Go."]}',
                     headers={"Content-Type": "application/json; charset=utf-8"})
    assert got == 200
    assert decode(server, {"texts": ["Go."]})["outputs"]


@pytest.mark.slow
def test_outputs_with_lone_surrogates_are_answered_as_json(tmp_path):
    """A vocabulary read from undecodable bytes holds lone surrogates, which UTF-8 cannot
    encode: the answer escapes them rather than failing with a 500."""
    from shorttext_s2s import CharBasedSeq2SeqGenerator, SentenceToCharVecEncoder
    from tools.fuzz_loader import mark_trained

    encoder = SentenceToCharVecEncoder(["\udce9", "a"])
    generator = CharBasedSeq2SeqGenerator(encoder, latent_dim=8, maxlen=4, network="lstm",
                                          example_input="a\udce9")
    generator.compile()
    mark_trained(generator)
    dense = generator.seq2seq.model.get_layer("decoder_dense")
    kernel, bias = dense.get_weights()
    bias[:] = -10.0
    bias[encoder.dictionary["\udce9"]] = 10.0  # always the surrogate, to the longest output
    dense.set_weights([np.zeros_like(kernel), bias])
    path = tmp_path / "surrogates.h5"
    generator.save_compact_model(path, final=True)
    running = Server(path, "--warmup", "none")
    try:
        assert decode(running, {"texts": ["a"]}) == {"outputs": ["\udce9" * 3]}
        status, _, content = call(running.url + "/v1/model")
        assert status == 200 and json.loads(content)["example_input"] == "a\udce9"
    finally:
        running.stop()


def test_a_batcher_whose_task_died_fails_what_it_took_and_starts_again():
    class Echo:  # answers each text with itself
        maxlen = 8

        def decode_scored(self, texts, strategy, seed, **options):
            return [[(text, 0.0)] for text in texts]

    batcher = DynamicBatcher(Echo(), max_delay=0.0)
    take, broken = batcher._take, [True]

    def take_once_broken():
        groups = take()
        if broken.pop() if broken else False:
            raise RuntimeError("a bug in the batching")
        return groups

    batcher._take = take_once_broken

    async def main():
        greedy = get_strategy("greedy")
        with pytest.raises(RuntimeError, match="a bug in the batching"):
            await asyncio.wait_for(batcher.decode(["a"], greedy), 10)
        await asyncio.sleep(0)
        assert not batcher.running  # the task died...
        answer = await asyncio.wait_for(batcher.decode(["b"], greedy), 10)
        assert batcher.running and batcher.restarts == 1  # ...and the next request restarted it
        await batcher.close()
        return answer

    assert asyncio.run(main()) == [[("b", 0.0)]]


@pytest.mark.slow
def test_an_api_key_guards_all_but_the_probes_and_only_this_machines_names_answer(
        served_file):
    running = Server(served_file, "--warmup", "none", "--api-key", " s3cret\n")
    try:
        url, port = running.url, running.url.rpartition(":")[2]
        for path in ("/v1/model", "/docs", "/openapi.json"):
            status, headers, content = call(url + path)
            assert status == 401 and headers["www-authenticate"] == "Bearer", path
        status, _, content = call(url + "/v1/decode", "POST", {"texts": ["Go."]})
        assert status == 401 and json.loads(content)["error"]["field"] == "Authorization"
        wrong = {"Authorization": "Bearer s3cre7"}
        assert call(url + "/v1/decode", "POST", {"texts": ["Go."]}, headers=wrong)[0] == 401
        key = {"Authorization": "Bearer s3cret"}
        status, _, content = call(url + "/v1/decode", "POST", {"texts": ["Go."]}, headers=key)
        assert status == 200 and json.loads(content)["outputs"]
        spaced = {"Authorization": "Bearer  s3cret "}  # blanks around the token: the same key
        assert call(url + "/v1/decode", "POST", {"texts": ["Go."]}, headers=spaced)[0] == 200
        status, _, content = call(url + "/v1/model", headers=key)
        assert status == 200 and json.loads(content)["limits"]["api_key"] is True  # not shown
        for path in ("/healthz", "/readyz", "/"):
            assert call(url + path)[0] in (200, 503), path  # probes and the page: no key
        # Bound to 127.0.0.1: a name of another site pointed at this machine reaches nothing.
        for host, expected in ((f"localhost:{port}", 200), (f"evil.example:{port}", 400),
                               ("127.0.0.1", 200)):
            status, _, content = call(url + "/healthz", headers={"Host": host})
            assert status == expected, (host, content)
    finally:
        running.stop()
