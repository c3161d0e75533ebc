"""What a run computes: devices and models, samples, policies, buffer and output.

These blocks of the scenario schema describe the work: :class:`ComputeSpec`
(onboard and ground devices and VLMs), :class:`WorkloadSpec` (which samples
arrive when, from a recorded, :class:`SyntheticSpec` or :class:`LiveSpec`
trace), :class:`PolicySpec` (allocation and :class:`CompressionSpec`),
:class:`BufferSpec` and :class:`OutputSpec`.  Sizes are bounded (see
:mod:`.fields`); how many samples a *rate* implies is checked on the whole
scenario (:class:`~.schema.Scenario`), where the satellite count is known.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .fields import (MAX_RUN_ID, MAX_SAMPLES, MAX_SERVERS, Integer, Number, PathText, RunId,
                     _Model, _name_like, _resolve_path)
from .problems import _FieldProblem

# ---------------------------------------------------------------------------
# compute
# ---------------------------------------------------------------------------

_OVERRIDES_DESCRIPTION = ("Override numbers of the device profile by key (e.g. "
                          "{prefill_tokens_per_s: 900}); the keys are checked against the "
                          "profile when the run starts.")


class SatelliteComputeSpec(_Model):
    """The onboard computer and the compact VLM it runs (paper §4.1.1, §4.1.3)."""

    device: str = Field(
        "jetson-agx-xavier", min_length=1,
        description="Device profile of the onboard computer (paper: Jetson AGX Xavier).")
    model: str = Field(
        "qwen2-vl-2b", min_length=1, description="Onboard VLM (paper: Qwen2-VL 2B).")
    slots: Integer = Field(
        1, ge=1, le=MAX_SERVERS,
        description=f"Samples the onboard computer processes at once (at most "
                    f"{MAX_SERVERS:,}: each slot is a server of the simulation).")
    overrides: dict[str, Number] = Field(
        default_factory=dict, description=_OVERRIDES_DESCRIPTION)


class GroundComputeSpec(_Model):
    """The ground-station servers and the large VLM they run (paper §4.1.1, §4.1.3)."""

    device: str = Field(
        "rtx-3090", min_length=1, description="Device profile of one ground GPU "
                                              "(paper: NVIDIA GeForce RTX 3090).")
    model: str = Field(
        "qwen2-vl-7b", min_length=1, description="Ground VLM (paper: Qwen2-VL 7B).")
    gpus: Integer = Field(
        1, ge=1, le=MAX_SERVERS,
        description=f"GPUs per ground station, each serving one sample at a time (at most "
                    f"{MAX_SERVERS:,}: each GPU is a server of the simulation).")
    overrides: dict[str, Number] = Field(
        default_factory=dict, description=_OVERRIDES_DESCRIPTION)


class ComputeSpec(_Model):
    """Who computes: the satellites' onboard computer and the ground GPUs.

    ``timing: profile`` (default) turns token counts into seconds with the device
    profiles; ``timing: measured`` replays the wall times a real backend recorded
    in the trace (per phase and per generation stage).
    """

    timing: Literal["profile", "measured"] = Field(
        "profile",
        description="Stage seconds from the device profiles (profile) or from the wall times "
                    "recorded in the trace by a real backend (measured).")

    max_pixels: Integer | None = Field(
        None, ge=784, le=10**10,
        description="Largest image the VLM processors feed to the vision encoder, in pixels, "
                    "as Qwen2-VL's max_pixels (null = 1280 x 28^2, the Qwen README's "
                    "recommended setting).")
    satellite: SatelliteComputeSpec = Field(
        default_factory=SatelliteComputeSpec, description="Onboard computer and VLM.")
    ground: GroundComputeSpec = Field(
        default_factory=GroundComputeSpec, description="Ground GPUs and VLM.")


# ---------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------

class SyntheticSpec(_Model):
    """A synthetic inference trace, generated from documented parameters.

    Used when ``workload.trace`` is ``synthetic``.  Accuracies left null take the
    task's documented defaults; its metadata says ``synthetic`` in every result.
    """

    task: Literal["vqa", "classification", "detection", "mixed"] = Field(
        "vqa", description="Remote-sensing task (paper §4.1.2: RSVQA-LR VQA, RESISC45 "
                           "classification, DOTA detection; mixed = all three).")
    samples: Integer = Field(
        1000, ge=1, le=MAX_SAMPLES,
        description=f"Rows of the synthetic trace (at least the simulated samples are "
                    f"generated; at most {MAX_SAMPLES:,}, the most a run simulates).")
    onboard_accuracy: Number | None = Field(
        None, ge=0, le=1, description="Mean score of the onboard model (null = task default).")
    ground_accuracy: Number | None = Field(
        None, ge=0, le=1, description="Mean score of the ground model (null = task default).")
    image_side_px: Integer | None = Field(
        None, ge=16, le=100_000, description="Image side in pixels (null = the task's dataset "
                                             "size).")
    train_samples: Integer | None = Field(
        None, ge=0, le=1_000_000,
        description="Rows of the training pool generated apart from the evaluated samples "
                    "(null = the generator's default).")


class LiveSpec(_Model):
    """Real models (transformers, local weights) run over a bundled image set.

    Used when ``workload.trace`` is ``live``: before simulating, both models answer
    every image (onboard in stages of ``stage_tokens``), and the run replays what
    they produced, with their measured timings available (``compute.timing:
    measured``).  The recorded trace is saved in the run folder.
    """

    onboard_model_dir: PathText = Field(
        ..., min_length=1, description="Onboard VLM folder (Qwen2-VL family, save_pretrained "
                                       "layout); nothing is downloaded.")
    ground_model_dir: PathText | None = Field(
        None, description="Ground VLM folder (default: the onboard one).")
    dataset: str = Field(
        "choice-scene-classification", min_length=1,
        description="Bundled image set (spaceverse traces datasets).")
    device: str = Field("cpu", min_length=1, description="cpu, cuda or cuda:N.")
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Weights dtype.")
    max_new_tokens: Integer = Field(
        32, ge=1, le=32_768,
        description="Longest answer, in tokens (at most 32768, the Qwen2-VL context).")
    limit: Integer | None = Field(
        None, ge=1, le=MAX_SAMPLES,
        description=f"Only the first N images (at most {MAX_SAMPLES:,}).")

    _resolve_dirs = field_validator("onboard_model_dir", "ground_model_dir")(classmethod(
        lambda cls, v, info: v if v is None else _resolve_path(v, info)))


class WorkloadSpec(_Model):
    """What is captured, by which satellite, when, and what goes down.

    Samples come from an inference trace (recorded or synthetic).  Before anything
    is drawn, a **training pool** is held apart for learning policies (synthetic
    traces generate one; other traces give ``train_rows`` ids, or
    ``train_fraction`` of them, chosen by a seeded hash): it is never simulated
    and does not depend on how many samples are.  The simulated samples are drawn
    from the remaining rows, prefix-stably (a smaller run simulates the first
    samples of a larger one).

    How many, and when: give ``rate_per_satellite_h`` (captures per satellite and
    hour over ``time.duration_h``, ``arrival`` periodic or poisson) -- the *load*
    is then explicit and results under load do not depend on the run's length --
    or ``samples`` (spread over the duration by ``arrival``).

    ``image_bytes`` says what a downlinked image weighs: ``raw`` = width x height
    x ``bands`` x ``bytes_per_sample`` (the paper's "raw RS data", §2.1.2),
    ``png`` / ``jpeg`` = bytes per pixel measured on the bundled images,
    ``stored`` = the trace's own ``image_bytes`` column.
    """

    trace: PathText = Field(
        "synthetic", min_length=1,
        description="synthetic (generated from the synthetic block), live (real models run "
                    "first, see the live block) or a recorded trace: a bundled name or a "
                    ".parquet path (relative paths are looked up next to the scenario file "
                    "first).")
    synthetic: SyntheticSpec | None = Field(
        None, description="Synthetic trace settings (only with trace: synthetic; defaults "
                          "filled in).")
    live: LiveSpec | None = Field(
        None, description="Real models to run first (only with trace: live).")
    samples: Integer | None = Field(
        None, ge=1, le=MAX_SAMPLES,
        description=f"How many samples to simulate (null = every test row of the trace, or "
                    f"rate_per_satellite_h x satellites x duration; more than the trace has = "
                    f"each row repeats, seeded; at most {MAX_SAMPLES:,}, whichever way).")
    rate_per_satellite_h: Number | None = Field(
        None, gt=0, le=1_000_000,
        description=f"Captures per satellite per hour (the load); sets the number of samples "
                    f"(rate x satellites x time.duration_h, at most {MAX_SAMPLES:,}). Give "
                    f"this or samples, not both.")
    train_rows: Integer | None = Field(
        None, ge=0, le=MAX_SAMPLES,
        description="Trace rows held apart to train learning policies (null = "
                    "train_fraction; synthetic traces: the generated pool, capped here).")
    train_fraction: Number = Field(
        0.0, ge=0, lt=1,
        description="Share of the trace's distinct samples held apart for training when "
                    "train_rows is null (paper §4.1.2: 5 % of each dataset's train set).")
    assignment: Literal["round_robin", "random"] = Field(
        "round_robin",
        description="How samples are spread over satellites: round_robin = evenly in turn "
                    "(paper §4.1.4: 'evenly distribute the test data'), random = seeded draw.")
    arrival: Literal["periodic", "uniform", "poisson", "at_start"] = Field(
        "uniform",
        description="Capture times over [0, duration]: periodic = every satellite every "
                    "1/rate hours (staggered), uniform = samples evenly spaced, poisson = a "
                    "seeded Poisson process, at_start = all at time 0.")
    image_bytes: Literal["raw", "png", "jpeg", "stored"] = Field(
        "raw",
        description="Bytes of a downlinked image: raw = width x height x bands x "
                    "bytes_per_sample (paper §2.1.2: raw RS data), png/jpeg = measured on the "
                    "bundled images, stored = the trace's image_bytes column.")
    bands: Integer = Field(3, ge=1, le=1024, description="Spectral bands of a raw image "
                                                         "(RGB: 3).")
    bytes_per_sample: Integer = Field(
        1, ge=1, le=8, description="Bytes per pixel and band of a raw image (8-bit: 1; "
                                   "Sentinel-2 L1C: 2).")

    _resolve_trace = field_validator("trace")(classmethod(
        lambda cls, v, info: v if v in ("synthetic", "live") else _resolve_path(v, info)))

    @model_validator(mode="after")
    def _synthetic_block(self) -> "WorkloadSpec":
        if self.trace == "synthetic":
            if self.synthetic is None:
                self.synthetic = SyntheticSpec()
        elif self.synthetic is not None:
            raise _FieldProblem("synthetic", "is only used with trace: synthetic (trace is "
                                             f"{self.trace!r})")
        if self.trace == "live" and self.live is None:
            raise _FieldProblem("live", "is required with trace: live (the model folders and "
                                        "the image set)")
        if self.trace != "live" and self.live is not None:
            raise _FieldProblem("live", f"is only used with trace: live (trace is {self.trace!r})")
        if self.samples is not None and self.rate_per_satellite_h is not None:
            raise _FieldProblem("rate_per_satellite_h", "and workload.samples both set the number "
                                                        "of samples; give one of them")
        if self.arrival == "periodic" and self.rate_per_satellite_h is None:
            raise _FieldProblem("arrival", "periodic needs workload.rate_per_satellite_h (the "
                                           "captures per satellite and hour)")
        return self


# ---------------------------------------------------------------------------
# policy
# ---------------------------------------------------------------------------

class CompressionSpec(_Model):
    """How a sample is shrunk before the downlink (paper §3.2, Eq. 2-3)."""

    method: str = Field(
        "none", min_length=1,
        description="Compression policy name (none, random-mask, attention-only, multi-scale, "
                    "...); lower-cased, _ read as -.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters of the method, e.g. {alpha: 0.35, beta: 0.55, regions: 100} "
                    "(paper §4.1.4).")

    _normalise = field_validator("method")(classmethod(lambda cls, v: _name_like(v)))


class PolicySpec(_Model):
    """Where each sample is inferred (allocation) and how it is compressed."""

    allocation: str = Field(
        "satellite-only", min_length=1,
        description="Allocation policy name (satellite-only, ground-only, tabi, ai-rg, "
                    "spaceverse, oracle, ...); lower-cased, _ read as -; checked against the "
                    "policy registry when the run starts.")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters of the allocation policy, e.g. {stages: 2, tau: [0.5, 0.4]} "
                    "(paper §4.1.4).")
    compression: CompressionSpec = Field(
        default_factory=CompressionSpec, description="Compression before the downlink.")

    _normalise = field_validator("allocation")(classmethod(lambda cls, v: _name_like(v)))


# ---------------------------------------------------------------------------
# buffer, output
# ---------------------------------------------------------------------------

class BufferSpec(_Model):
    """Each satellite's store of samples waiting for the downlink."""

    capacity_mb: Number = Field(
        16000.0, gt=0, le=1e9,
        description="Buffer size per satellite in MB (10^6 bytes); a sample that does not fit "
                    "is dropped and logged (at most 10^9 MB, a petabyte).")
    discipline: Literal["fifo", "priority"] = Field(
        "fifo", description="Transmission order: fifo = oldest first, priority = by the "
                            "policy's priority, then oldest first.")


class OutputSpec(_Model):
    """Where results go; changing it never changes the scenario hash."""

    dir: PathText = Field(
        "results", min_length=1,
        description="Folder that receives one sub-folder per run (relative to the working "
                    "directory).")
    run_id: RunId | None = Field(
        None, min_length=1, max_length=MAX_RUN_ID,
        description=f"Name of the run's sub-folder (null = <name slug>-<scenario hash>): "
                    f"letters, digits, '.', '_' and '-', at most {MAX_RUN_ID} characters (a "
                    f"folder name every file system takes).")
    save_contacts: bool = Field(
        True, description="Also write the contact windows of the run (contacts.parquet).")


