"""The evaluation report (gancore.evaluation_report), run offline on the shipped sample."""

from gancore import evaluation_report


def test_command_line_prints_accuracy_and_the_real_digit_scores(capsys):
    assert evaluation_report.main(["--source", "sample", "-n", "200"]) == 0
    printed = capsys.readouterr().out
    assert "Test accuracy on 1,000 MNIST test digits" in printed
    for row in (
        "real train digits (200)",
        "baseline: uniform noise",
        "baseline: one digit repeated",
        "real test digits (vs themselves)",
    ):
        assert row in printed


def test_real_digits_score_far_better_than_the_noise_baseline():
    table = evaluation_report.report(n=200, source="sample")
    scores = {row.name: row for row in table.rows}
    real, noise = scores["real train digits (200)"], scores["baseline: uniform noise"]
    assert real.frechet_distance < noise.frechet_distance / 10
    assert scores["real test digits (vs themselves)"].frechet_distance < 1e-6
