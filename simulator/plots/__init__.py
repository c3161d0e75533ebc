"""Publication figures (matplotlib, headless), made from saved results only.

Nothing here re-runs a simulation: every function reads tables that a run
(``results/<run-id>/``) or a sweep (``sweep.parquet`` plus its run folders)
has already written (the offload map draws a table computed elsewhere).

Modules
-------
==================  ================================================================
``style``           column width, fonts, colours and marker shapes, titles carrying the
                    provenance (synthetic, modelled accuracy, model preset), saving
``data``            figure data from sweep tables and run folders: finished rows, what
                    was swept (knob / series), means over seeds, Pareto front,
                    latency breakdowns
``markers``         curves and markers on accuracy plots, coincident markers moved apart
``motivation``      paper Figs. 4a (contact share) and 4b (latency per stage)
``paper``           paper Figs. 9 (accuracy vs latency), 10 (vs offloaded samples),
                    11 (confidence-network ablation), 12 (vs compression ratio)
``beyond``          latency under load vs altitude and stations, a satellite's timeline,
                    the contact-window chart
``offload_map``     when offloading pays: GS-only / onboard service latency against
                    goodput and image size
``figures``         :data:`FIGURES` and :func:`plot_results` (which figures a folder gets)
==================  ================================================================

Conventions: one panel is 3.5 in wide (a paper column), several share a 7 in
figure; no text under 7 pt; each figure is written as ``<stem>.png`` (300 dpi)
and ``<stem>.pdf``, atomically, and the functions return a :class:`Written`
(the paths, the titles drawn and ``meta``).  The paper's figures plot the
*service* latency (each sample alone: the paper's "average per-sample inference
latency") when the sweep table has it; the figures beyond the paper plot the
latency under load.  Every figure splits on every swept axis that is not its
x or y or the seed: panels per workload and model preset, one curve per policy
over its own swept parameter, one curve per other swept setting.
"""

# style first: it selects the headless backend before pyplot is imported anywhere else
from .style import (COLUMN_WIDTH_IN, COMPRESSION_STYLE, DOUBLE_WIDTH_IN, FIGURE_SUFFIXES,
                    LATENCY_NAMES, MIN_FONT_PT, PAPER_CONTACT_SHARE, PAPER_GS_OVER_ONBOARD,
                    PAPER_TX_SHARE_GS_ONLY, POLICY_ORDER, POLICY_STYLE, PRESET_LABELS,
                    SERVICE_STAGES, STAGES, STYLE, FigureWriteError, Written, _save_all,
                    _with_note, check_figure_path, preset_label, provenance_flags, provenance_note)
from .beyond import (buffer_occupancy, contact_timeline, e2e_latency_vs_altitude,
                     satellite_timeline)
from .data import (ALTITUDE_AXIS, SWEEP_META, SWEEP_METRICS, THRESHOLD_AXIS, _key, _prepare,
                   aggregate, breakdown_table, compression_x, contact_fraction_table,
                   latency_column, ok_rows, pareto_front, pareto_mask, policy_accepts,
                   read_json_file, read_run_summary, read_table_file, service_stages,
                   stage_means, sweep_axes, workload_of)
from .figures import FIGURES, RUN_STEMS, SWEEP_STEMS, check_output_folder, plot_results
from .markers import marker_positions, nudge_offsets
from .motivation import (contact_fraction_vs_altitude, fig4a_contact_fraction,
                         fig4b_latency_breakdown)
from .offload_map import DATASET_SIDES, OFFLOAD_MAP_COLUMNS, dataset_points, offload_map_figure
from .paper import (ABLATION_POLICIES, fig9_accuracy_latency, fig10_accuracy_vs_offloaded,
                    fig11_ablation, fig12_compression)

__all__ = [
    "ABLATION_POLICIES", "ALTITUDE_AXIS", "COLUMN_WIDTH_IN", "COMPRESSION_STYLE",
    "DATASET_SIDES", "DOUBLE_WIDTH_IN", "FIGURES", "FIGURE_SUFFIXES", "FigureWriteError",
    "LATENCY_NAMES",
    "MIN_FONT_PT", "OFFLOAD_MAP_COLUMNS", "PAPER_CONTACT_SHARE", "PAPER_GS_OVER_ONBOARD",
    "PAPER_TX_SHARE_GS_ONLY", "POLICY_ORDER", "POLICY_STYLE", "PRESET_LABELS", "RUN_STEMS",
    "SERVICE_STAGES", "STAGES", "STYLE", "SWEEP_META", "SWEEP_METRICS", "SWEEP_STEMS",
    "THRESHOLD_AXIS", "Written", "aggregate", "breakdown_table", "buffer_occupancy",
    "check_figure_path", "check_output_folder", "compression_x", "contact_fraction_table",
    "contact_fraction_vs_altitude", "contact_timeline", "dataset_points",
    "e2e_latency_vs_altitude",
    "fig10_accuracy_vs_offloaded", "fig11_ablation", "fig12_compression",
    "fig4a_contact_fraction", "fig4b_latency_breakdown", "fig9_accuracy_latency",
    "latency_column", "marker_positions", "nudge_offsets", "offload_map_figure", "ok_rows",
    "pareto_front", "pareto_mask", "plot_results", "policy_accepts", "preset_label",
    "read_json_file", "read_run_summary", "read_table_file",
    "provenance_flags", "provenance_note", "satellite_timeline", "service_stages",
    "stage_means", "sweep_axes", "workload_of",
]
