import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from alertengine_sdk import sketch


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def hist_of(values: list[float]) -> dict[int, int]:
    hist: dict[int, int] = {}
    for v in values:
        i = sketch.bin_of(v)
        hist[i] = hist.get(i, 0) + 1
    return hist


def test_p95_of_100k_lognormal_latencies_is_within_one_percent_of_exact():
    rng = random.Random(7)
    values = [rng.lognormvariate(math.log(80), 0.9) for _ in range(100_000)]
    reported = sketch.quantiles(hist_of(values), (0.95,))[0]
    exact = exact_quantile(values, 0.95)
    assert abs(reported - exact) / exact <= 0.01


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=600_000), min_size=1, max_size=300),
       st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0]))
def test_every_quantile_is_within_the_relative_accuracy(values, q):
    reported = sketch.quantiles(hist_of(values), (q,))[0]
    exact = exact_quantile(values, q)
    assert abs(reported - exact) / exact <= sketch.RELATIVE_ACCURACY + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=10_000), max_size=100),
       st.lists(st.floats(min_value=0.01, max_value=10_000), max_size=100))
def test_merging_two_histograms_equals_the_histogram_of_all_values(a, b):
    merged = hist_of(a)
    sketch.merge_into(merged, hist_of(b))
    assert merged == hist_of(a + b)


def test_empty_histogram_reports_zero():
    assert sketch.quantiles({}, (0.5, 0.95)) == [0.0, 0.0]
