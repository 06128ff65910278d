"""The backend's native log records are kept off standard error, and nothing else is."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from shorttext_s2s.native_logs import is_native_log_record

# Records as TensorFlow 2.21 and XLA write them (seen on the machines of this project).
RECORDS = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796224363.009779    2231 port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1796224363.1    2231 util.cc:131] oneDNN supports DT_BOOL only on platforms "
    "with AVX-512. Falling back to the default Eigen-based implementation if present.",
    "W1202 15:09:52.123456 77 cpu_allocator_impl.cc:83] Allocation exceeds 10% of memory.",
]


#: An error record that is no known notice: it reaches standard error, as fatal ones do.
ERROR = "E0000 00:00:1796224363.1    2231 cuda_dnn.cc:535] Could not create cudnn handle"


def test_records_are_told_from_other_lines():
    assert all(is_native_log_record(line) for line in RECORDS)
    fatal = "F0000 00:00:1796224363.1    2231 check.cc:12] Check failed: size > 0"
    for line in [fatal, ERROR, "shorttext-s2s: error: model.h5: no such model file",
                 "Traceback (most recent call last):", "I0000 is not a record", ""]:
        assert not is_native_log_record(line), line


def _run(body: str) -> subprocess.CompletedProcess:
    code = "import os, sys\nfrom shorttext_s2s.native_logs import quiet_native_logs\n"
    code += textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_the_block_drops_records_and_keeps_the_rest_in_order():
    records = "".join(line + "\n" for line in RECORDS)
    result = _run(f"""
        with quiet_native_logs():
            # One write of the runtime's logger: a record and its continuation line.
            os.write(2, b"I0000 00:00:1.5 9 cpu_feature_guard.cc:227] This binary is optimized"
                        b"\\nTo enable the following instructions: AVX2 FMA\\n")
            os.write(2, {records!r}.encode())
            print("a python message", file=sys.stderr)
            print("the answer", flush=True)
            os.write(2, b"HDF5-DIAG: Error detected in HDF5\\n")
            os.write(2, {ERROR + chr(10)!r}.encode())
            os.write(2, b"F0000 00:00:1.5 9 check.cc:12] Check failed\\nits stack\\n")
            print("python's own message", file=sys.stderr)
        os.write(2, b"after the block\\n")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the answer\n"
    lines = result.stderr.splitlines()
    # Python's messages go straight to standard error, the rest through the filter's thread:
    # each keeps its own order, and everything is out before the block ends.
    assert lines[-1] == "after the block"
    python = ["a python message", "python's own message"]
    assert [line for line in lines if "python" in line] == python
    assert [line for line in lines[:-1] if line not in python] == [
        "HDF5-DIAG: Error detected in HDF5", ERROR,
        "F0000 00:00:1.5 9 check.cc:12] Check failed", "its stack"], lines


def test_a_fatal_record_reaches_standard_error_when_the_process_aborts_after_it():
    # The runtime writes its fatal record and calls abort(): the filter, a process of its
    # own, passes the record on after the process that wrote it is gone.
    for attempt in range(8):
        result = _run("""
            with quiet_native_logs():
                os.write(2, b"I0000 00:00:1.5 9 x.cc:1] noise\\n")
                os.write(2, b"F0000 00:00:1.5 9 check.cc:12] Check failed: size > 0\\n")
                os.abort()
        """)
        assert result.returncode != 0
        assert "Check failed: size > 0" in result.stderr, (attempt, result.stderr)
        assert "noise" not in result.stderr


def test_a_python_error_inside_the_block_is_shown_whole():
    result = _run("""
        with quiet_native_logs():
            raise ValueError("a real error")
    """)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ValueError: a real error" in result.stderr
