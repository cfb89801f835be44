"""bench/bench_openweb.py's scorer and split (the benchmark data is not in the repo; these are
the parts whose mistakes would silently change the reported figures)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_openweb.py"
_spec = importlib.util.spec_from_file_location("bench_openweb", BENCH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

words = st.lists(st.sampled_from(["the", "minister", "talks", "Москва", "2024", "é", "a_b"]), max_size=30)


@given(words)
def test_a_perfect_output_scores_one_and_an_empty_one_zero(ws):
    text = " ".join(ws)
    gold = bench.tokens(text)
    if sum(gold.values()):
        assert bench.token_prf(gold, text.upper()) == (1.0, 1.0, 1.0)  # lower-cased tokens
    assert bench.token_prf(gold, "") == (0.0, 0.0, 0.0)


@given(words, words)
def test_token_scores_are_multiset_overlaps(gold_words, out_words):
    gold, out = Counter(w.lower() for w in gold_words), " ".join(out_words)
    p, r, f = bench.token_prf(gold, out)
    overlap = sum((gold & bench.tokens(out)).values())
    if overlap:
        assert p == overlap / len(out_words) and r == overlap / sum(gold.values())
        assert min(p, r) - 1e-12 <= f <= max(p, r) + 1e-12  # a harmonic mean
    else:
        assert f == 0.0


def test_snippet_rule_counts_like_trafilaturas_evaluation():
    item = {"with": ["one two", "three"], "without": ["Impressum", "four"]}
    assert bench.snippet_counts("one two and four", item) == (1, 1, 1, 1)
    assert bench.snippet_counts("", item) == (0, 2, 0, 2)
    assert bench.pooled([(1, 1, 1, 1), (2, 0, 0, 2)]) == (0.75, 0.75, 0.75)


def test_the_split_is_fixed_by_the_page_id_and_about_half():
    ids = [f"trafilatura/https://example.org/{i}" for i in range(2000)]
    held = [bench.held_back(i) for i in ids]
    assert held == [bench.held_back(i) for i in ids]
    assert 0.45 < sum(held) / len(held) < 0.55


def test_without_data_the_bench_skips_with_one_line(tmp_path):
    for args in ([], [str(tmp_path / "absent")]):
        run = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0 and run.stdout == ""
        assert run.stderr.startswith("bench_openweb: skipped") and run.stderr.count("\n") == 1
