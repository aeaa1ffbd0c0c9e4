"""Leaderboards and the HTML report from a results store.

For notebooks::

    from motionbench.report import leaderboard
    df = leaderboard(["results/my-run"], by="overall")        # a pandas DataFrame
    df.attrs["footer"]                                        # conventions, backends, skipped scores
    per_sample = sample_scores(["results/my-run"])            # one mean per (method, sample, metric)

The command line is ``motionbench report RUN [RUN ...]`` (see ``motionbench report --help``).
Modules: :mod:`~motionbench.report.runs` reads runs, :mod:`~motionbench.report.aggregate` builds the
:class:`~motionbench.report.model.Leaderboard`, :mod:`~motionbench.report.bootstrap` computes
intervals, :mod:`~motionbench.report.reported` loads published numbers, and
:mod:`~motionbench.report.render`, :mod:`~motionbench.report.terminal` and
:mod:`~motionbench.report.html` draw it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from motionbench.report.aggregate import build_leaderboard
from motionbench.report.model import Leaderboard
from motionbench.report.reported import load_reported
from motionbench.report.runs import LoadedRun, MixedBackendsError, ReportError, load_runs

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Leaderboard", "MixedBackendsError", "ReportError", "build", "leaderboard", "sample_scores"]


def build(runs: Sequence[str | Path | LoadedRun], *, by: str = "category", metrics: Sequence[str] | None = None,
          allow_mixed: bool = False, with_reported: bool | str | Path = False, rank_reported: bool = False,
          seed: int = 0, n_boot: int = 2000, results_dir: str | Path = "results",
          task: str | None = None) -> Leaderboard:
    """Read runs and aggregate them into a :class:`Leaderboard` (what every renderer draws).

    Args:
        runs: run folders, run names under ``results_dir``, or loaded :class:`LoadedRun` objects.
        by: "category" (per category, then both overalls) or "overall".
        metrics: metric names or "metric/variant" ids to show; None shows all.
        allow_mixed: show columns whose rows used different backends (marked) instead of refusing.
        with_reported: True adds the published rows of ``results/reported/``; a path picks a folder.
        rank_reported: rank published rows together with measured ones.
        seed, n_boot: the bootstrap.
        task: the task to report (``motion_transfer``, ``recapture``); None: the only one the runs hold.

    Raises:
        ReportError: a run is missing, a metric unknown, several tasks and no ``task``;
            MixedBackendsError: see ``allow_mixed``.
    """
    stores = load_runs(runs, results_dir)
    reported = None
    if with_reported:
        reported = load_reported(None if with_reported is True else Path(with_reported))
    return build_leaderboard(stores, by=by, metrics=metrics, allow_mixed=allow_mixed,  # type: ignore[arg-type]
                             reported=reported, rank_reported=rank_reported, seed=seed, n_boot=n_boot, task=task)


def leaderboard(runs: Sequence[str | Path | LoadedRun] | str | Path, by: str = "category",
                metrics: Sequence[str] | None = None, allow_mixed: bool = False, *,
                with_reported: bool | str | Path = False, rank_reported: bool = False, seed: int = 0,
                n_boot: int = 2000, results_dir: str | Path = "results", task: str | None = None) -> "pd.DataFrame":
    """The leaderboard as a pandas DataFrame: one row per (group, method); see :func:`build`.

    Columns: ``group, method, label, run, kind, n``, then per metric column ``<id>`` (the mean) and
    ``<id>.lo``, ``.hi``, ``.n``, ``.skipped``, ``.rank``, ``.best``, ``.mixed``, ``.note``.
    ``df.attrs["footer"]`` holds the conventions, backends and skipped-score notes.

    Example:
        >>> df = leaderboard("results/smoke", by="overall")  # doctest: +SKIP
        >>> df[df.group == "overall (mean of categories)"][["method", "motion_fidelity/dmt"]]  # doctest: +SKIP
    """
    from motionbench.report.frame import to_dataframe

    if isinstance(runs, (str, Path)):
        runs = [runs]
    return to_dataframe(build(runs, by=by, metrics=metrics, allow_mixed=allow_mixed, with_reported=with_reported,
                              rank_reported=rank_reported, seed=seed, n_boot=n_boot, results_dir=results_dir,
                              task=task))


def sample_scores(runs: Sequence[str | Path | LoadedRun] | str | Path, metrics: Sequence[str] | None = None, *,
                  allow_mixed: bool = False, results_dir: str | Path = "results",
                  task: str | None = None) -> "pd.DataFrame":
    """Each sample's mean over its prompts and seeds, per run, method and metric column.

    The units the leaderboard's intervals resample: use them for paired comparisons between
    methods on the same samples. ``value`` is NaN where every score of the sample was skipped.
    """
    from motionbench.report.frame import samples_dataframe

    if isinstance(runs, (str, Path)):
        runs = [runs]
    return samples_dataframe(build(runs, metrics=metrics, allow_mixed=allow_mixed, results_dir=results_dir, task=task))
