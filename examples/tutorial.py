"""The README's Python tutorial as a script: `python examples/tutorial.py` from the repository.

Loads a scenario, looks at its contact windows, runs three policies (one of them deciding
during the run from the state of the network), reads a run back, and lists the metrics.
"""

from simulator import api as sv

s = sv.load_scenario("scenarios/small.yaml", set=["time.duration_h=2", "time.drain_h=4"])
print(sv.validate(s))

windows = sv.contacts(s)
print(f"{len(windows)} contact windows, the first with {windows.iloc[0]['station']}")

for policy in ["satellite-only", "ground-only", "deadline-aware"]:
    run = sv.run(sv.override(s, f"policy.allocation={policy}"), out_dir="results")
    print(f"{policy:15} accuracy {run.summary['accuracy_every_answer']:.3f}  "
          f"service {run.samples['service_latency_s'].mean():.2f} s  "
          f"end-to-end {run.summary['end_to_end_latency_s']['mean']:.0f} s")

again = sv.load_run(run.folder)
assert again.summary["samples"] == run.summary["samples"]
print(sv.metrics()[["name", "unit"]].head())
