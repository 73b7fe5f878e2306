"""What the evaluator and its scores say about real digits, on the command line.

Prints the shipped evaluator (`gancore.evaluator`), its accuracy on the MNIST
test digits, and the score table of `gancore.metrics` for real training digits
(with the noise and one-repeated-digit baselines) and for the test digits
against themselves: the scale every generator's score is read on::

    GANCORE_DATA_DIR=/path/to/data python -m gancore.evaluation_report
    python -m gancore.evaluation_report --source sample -n 1000   # offline, the shipped sample

It sits apart from both modules so that the imports run one way:
this report -> metrics -> evaluator.
"""

from __future__ import annotations

import argparse
import sys

from gancore import metrics
from gancore.data import load_dataset
from gancore.evaluator import load_evaluator
from gancore.images import TANH_RANGE


def report(n: int = 10_000, seed: int = 0, source: str = "full") -> metrics.ScoreTable:
    """Prints the evaluator's accuracy and the metrics' real-data numbers and baselines.

    Args:
        n: training digits scored against the test digits (the real-data row).
        seed: for the baselines' random choices.
        source: `full` (all of MNIST: `GANCORE_DATA_DIR` or a download) or
            `sample` (the digits shipped with gancore, for a quick offline look).

    Returns:
        The printed `ScoreTable`: real training digits, the baselines, and the
        test digits scored against themselves.
    """
    evaluator = load_evaluator()
    data = load_dataset("mnist", source=source, value_range=TANH_RANGE)
    print(evaluator)
    print(
        f"Test accuracy on {len(data.x_test):,} MNIST test digits: "
        f"{evaluator.accuracy(data.x_test, data.y_test):.4f} "
        f"(recorded at training: {evaluator.test_accuracy})"
    )
    real_train = data.x_train[:n]
    table = metrics.score_generator(
        real_train, name=f"real train digits ({len(real_train):,})", reference=data, seed=seed
    )
    real_test = metrics.score_generator(
        data.x_test, name="real test digits (vs themselves)", reference=data, baselines=False
    )
    table.rows.append(real_test.rows[0])
    print(table)
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="The book's MNIST evaluator: accuracy, and the scores of real digits."
    )
    parser.add_argument("-n", type=int, default=10_000, help="training digits scored")
    parser.add_argument("--seed", type=int, default=0, help="seed of the baselines")
    parser.add_argument(
        "--source",
        choices=["full", "sample"],
        default="full",
        help="full MNIST (GANCORE_DATA_DIR or a download) or the sample shipped with gancore",
    )
    args = parser.parse_args(argv)
    report(n=args.n, seed=args.seed, source=args.source)
    return 0


if __name__ == "__main__":
    sys.exit(main())
