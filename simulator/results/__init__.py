"""Results: the only code that writes and reads run and sweep folders, and the only
place metrics are defined.

Modules
-------
==============  ====================================================================
``metrics``     :data:`METRICS` (name, what it counts, unit), :func:`summarize` (the
                numbers of ``summary.json``), :func:`point_metrics` (a sweep row),
                the old names of metrics and their mapping
``runs``        run folders: :func:`write_run` (atomic), :func:`read_run`,
                :func:`read_summary`, the file readers with one-line errors
``sweeps``      sweep folders (``sweep.parquet``, ``sweep.yaml``, ``points/``): the
                table's columns, :func:`sweep_frame`, :func:`read_sweep_table`,
                :func:`read_point`
``pareto``      the accuracy-latency Pareto front (:func:`pareto_front`) and whether a
                verdict is within the noise (:func:`pareto_noise`)
``degenerate``  warnings about degenerate results (:func:`run_warnings`,
                :func:`warnings_for`)
``index``       ``spaceverse runs list / show / diff``
==============  ====================================================================

The three accuracies are ``accuracy_finished_samples``, ``accuracy_all_samples``
and ``accuracy_every_answer`` (the paper's); :func:`definitions_table` prints
what each metric counts.
"""

from .degenerate import (MIN_TRAINING_ROWS, NOISE_FLOOR, run_warnings, training_rows,
                         warnings_for)
from .index import default_root, diff, find_results, list_results, resolve, show
from .metrics import (ACCURACIES, BREAKDOWN_COLUMNS, COLUMN_LEGACY, HEADLINE, METRIC_LIST,
                      METRICS, SAMPLE_NEEDS, SUMMARY_LEGACY, Metric, Summary,
                      canonical_columns, canonical_summary, definition, definitions_table,
                      format_value, point_metrics, service_breakdown, summarize, summary_value)
from .pareto import (EXCLUDED, SERVICE, UNDER_LOAD, annotate_sweep, pareto_front, pareto_mask,
                     pareto_noise, verdict)
from .runs import (SAMPLE_COLUMNS, SUMMARY_TYPES, _json_default, is_run_folder,
                   prepare_results_folder, read_json_file, read_run, read_run_summary,
                   read_samples, read_summary, read_table_file, run_metrics, summary_text,
                   write_run, write_run_files)
from .sweeps import (COLUMNS as SWEEP_COLUMNS, METRIC_COLUMNS as SWEEP_METRIC_COLUMNS,
                     POINTS_DIR, SWEEP_FILE, SWEEP_TABLE, is_sweep_folder, read_point,
                     read_sweep_table, sweep_axes, sweep_frame, sweep_kind, write_sweep_table)

__all__ = [
    "ACCURACIES", "BREAKDOWN_COLUMNS", "COLUMN_LEGACY", "EXCLUDED", "HEADLINE", "METRICS",
    "METRIC_LIST", "MIN_TRAINING_ROWS", "Metric", "NOISE_FLOOR", "POINTS_DIR", "SAMPLE_COLUMNS",
    "SAMPLE_NEEDS", "SERVICE", "SUMMARY_LEGACY", "SUMMARY_TYPES", "SWEEP_COLUMNS", "SWEEP_FILE",
    "SWEEP_METRIC_COLUMNS", "SWEEP_TABLE", "Summary", "UNDER_LOAD", "annotate_sweep",
    "canonical_columns", "canonical_summary", "default_root", "definition", "definitions_table",
    "diff", "find_results", "format_value", "is_run_folder", "is_sweep_folder", "list_results",
    "pareto_front", "pareto_mask", "pareto_noise", "point_metrics", "prepare_results_folder",
    "read_json_file", "read_point", "read_run", "read_run_summary", "read_samples",
    "read_summary", "read_sweep_table", "read_table_file", "resolve", "run_metrics",
    "run_warnings", "service_breakdown", "show", "summarize", "summary_text", "summary_value",
    "sweep_axes", "sweep_frame", "sweep_kind", "training_rows", "verdict", "warnings_for",
    "write_run", "write_run_files", "write_sweep_table",
]
