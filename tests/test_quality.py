"""Tests for gancore.quality: the time-to-quality bench (`python -m gancore.bench quality`)."""

import math
import time

import numpy as np
import pytest

from gancore import quality
from gancore.data import load_dataset
from gancore.evaluator import load_evaluator


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", source="sample", value_range=(-1, 1), verbose=False)


def point(fd, score, classes, minutes=1.0):
    return quality.Point(minutes, minutes, 0, fd, score, classes)


class FakeClock:
    """A clock whose minutes the test sets."""

    minutes = 0.0
    wall_minutes = 0.0


def make_curve(mnist, target, budget=10.0, every=2.0, clock=None):
    return quality.QualityCurve(
        "model", target, clock or FakeClock(), budget, every, mnist, load_evaluator(), n=200,
        verbose=False,
    )  # fmt: skip


def test_target_needs_every_condition():
    target = quality.Target(max_fd=3.0, min_score=9.0, min_classes=10)
    assert target.met(point(2.9, 9.1, 10))
    assert not target.met(point(3.1, 9.1, 10))
    assert not target.met(point(2.9, 8.9, 10))
    assert not target.met(point(2.9, 9.1, 9))
    assert str(target) == "score ≥ 9, FD ≤ 3, 10/10 classes"


def test_training_clock_counts_cpu_time_over_cores_and_skips_pauses():
    clock = quality.TrainingClock(cores=2)
    started = time.perf_counter()
    clock.start()
    end = time.process_time() + 0.2
    while time.process_time() < end:  # burn 0.2 s of CPU on one core
        pass
    clock.stop()
    stopped = time.perf_counter()
    time.sleep(0.2)  # a pause (scoring) is not training time
    assert 0.19 / 2 / 60 <= clock.minutes <= 0.4 / 2 / 60
    assert clock.wall_minutes * 60 <= stopped - started


def test_curve_scores_at_intervals_and_stops_at_target(mnist):
    clock = FakeClock()
    curve = make_curve(mnist, quality.Target(max_fd=10.0), clock=clock)
    real = lambda n: mnist.x_train[:n]  # noqa: E731 - real digits meet an easy target
    noise = lambda n: np.random.default_rng(0).uniform(-1, 1, (n, 28, 28, 1)).astype("float32")  # noqa: E731
    clock.minutes = 1.0
    assert curve.checkpoint(noise, 100) is False and curve.points == []  # not due yet
    clock.minutes = 2.5
    assert curve.checkpoint(noise, 200) is False  # scored, far from the target
    assert curve.points[0].frechet_distance > 50 and curve.minutes_to_target is None
    clock.minutes = 4.1
    assert curve.checkpoint(real, 300) is True  # scored, target met
    assert curve.minutes_to_target == 4.1
    assert [p.images for p in curve.points] == [200, 300]


def test_curve_stops_at_the_budget_with_a_last_score(mnist):
    clock = FakeClock()
    curve = make_curve(mnist, quality.Target(max_fd=0.0), budget=3.0, every=2.0, clock=clock)
    clock.minutes = 3.2
    assert curve.checkpoint(lambda n: mnist.x_train[:n], 10) is True
    assert len(curve.points) == 1 and curve.minutes_to_target is None


def test_speed_up_line_is_a_ratio_or_a_bound():
    ours = quality.QualityCurve("dcgan", quality.Target(), FakeClock(), 20, 2, None, None)
    theirs = quality.QualityCurve("tutorial", quality.Target(), FakeClock(), 30, 2, None, None)
    ours.points = [point(2.0, 9.5, 10, minutes=6.0)]
    theirs.points = [point(2.0, 9.5, 10, minutes=15.0)]
    line = quality.speed_up_line(ours, theirs)
    assert line == "DCGAN time-to-target speed-up vs the tutorial recipe: 2.50x"
    theirs.target = ours.target = quality.Target(max_fd=1.0)
    theirs.points = [point(2.0, 9.5, 10, minutes=30.0)]
    ours.points = [point(0.5, 9.5, 10, minutes=6.0)]
    assert ">= 5.00x" in quality.speed_up_line(ours, theirs)


def test_tutorial_networks_have_the_tutorials_shapes():
    generator, discriminator = quality.tutorial_generator(), quality.tutorial_discriminator()
    assert generator.output.shape[1:] == (28, 28, 1)
    assert discriminator.output.shape[1:] == (1,)
    kernels = [w.shape for w in generator.weights if len(w.shape) == 4]
    assert kernels == [(5, 5, 128, 256), (5, 5, 64, 128), (5, 5, 1, 64)]
    assert generator.count_params() > 2_000_000  # far larger than the book's width-32 DCGAN


def test_both_trainers_run_under_a_curve_and_stop_at_the_budget(mnist):
    # A budget of zero: each trainer runs one chunk, scores once and stops.
    for train in (
        lambda c: quality.train_recipe(c, "dcgan", mnist, width=8, steps_per_check=2),
        lambda c: quality.train_tutorial(c, mnist, steps_per_check=2),
    ):
        curve = make_curve(mnist, quality.Target(max_fd=0.0), budget=0.0, every=1.0,
                           clock=quality.TrainingClock())  # fmt: skip
        train(curve)
        assert len(curve.points) == 1
        assert curve.points[0].images > 0 and math.isfinite(curve.points[0].frechet_distance)


def test_parse_target_reads_each_condition_and_refuses_others():
    target = quality.parse_target("score>=6.5, fd<=15, classes>=9")
    assert target == quality.Target(max_fd=15.0, min_score=6.5, min_classes=9)
    with pytest.raises(ValueError, match="Expected a target like"):
        quality.parse_target("fid<3")


def test_speed_up_at_another_target_names_it():
    ours = quality.QualityCurve("dcgan", quality.Target(max_fd=3), FakeClock(), 20, 2, None, None)
    theirs = quality.QualityCurve(
        "tutorial", quality.Target(max_fd=3), FakeClock(), 30, 2, None, None
    )
    ours.points = [point(14.0, 6.6, 10, minutes=2.0), point(9.0, 7.0, 10, minutes=4.0)]
    theirs.points = [point(20.0, 5.0, 10, minutes=5.0), point(14.5, 6.7, 10, minutes=9.0)]
    easier = quality.parse_target("score>=6.5,fd<=15")
    line = quality.speed_up_line(ours, theirs, easier)
    assert line == (
        "DCGAN time-to-target (score ≥ 6.5, FD ≤ 15) speed-up vs the tutorial recipe: 4.50x"
    )
    assert "none" in quality.speed_up_line(ours, theirs)  # neither reached FD <= 3
