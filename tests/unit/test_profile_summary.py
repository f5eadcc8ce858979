"""benchmarks/_profile.py: py-spy's collapsed stacks summed into self and inclusive shares."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_profile", Path(__file__).resolve().parents[2] / "benchmarks" / "_profile.py")
profile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(profile)


def test_shares_per_function_thread_and_bucket(tmp_path):
    stacks = tmp_path / "profile.txt"
    stacks.write_text(
        "thread (0x1): MainThread;run (asyncio/base_events.py:600);process (streams/processor.py:10) 30\n"
        "thread (0x1): MainThread;run (asyncio/base_events.py:601);process (streams/processor.py:12);"
        "score (detectors/level.py:5) 10\n"
        "thread (0x2): Thread-1;fetch (aiokafka/consumer/fetcher.py:1) 60\n"
        "not a stack line\n")
    text = profile.summarize_profile(stacks)
    lines = text.splitlines()
    assert lines[0].startswith("100 samples")
    assert "MainThread 40%" in lines[1] and "Thread-1 60%" in lines[1]
    assert "consumer fetch (aiokafka) 60%" in lines[2]
    assert "agent body (kohta: streams/, detectors/; bare agent: its counting) 40%" in lines[2]
    # Line numbers are folded: both processor.py frames are one row, 30% self, 40% with score().
    assert "  30.0   40.0  process (streams/processor.py)" in lines
    assert "  10.0   10.0  score (detectors/level.py)" in lines
    # kohta's own section: only streams/ and detectors/, by inclusive share.
    ours = lines[lines.index("kohta's own code (streams/, detectors/), by inclusive share:") + 1:]
    assert ours == ["  30.0   40.0  process (streams/processor.py)", "  10.0   10.0  score (detectors/level.py)"]


def test_missing_and_empty_profiles_are_said_so(tmp_path):
    assert profile.summarize_profile(tmp_path / "absent.txt").startswith("(no profile at")
    (tmp_path / "empty.txt").write_text("")
    assert profile.summarize_profile(tmp_path / "empty.txt").startswith("(empty profile")
