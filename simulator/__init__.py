"""spaceverse: a discrete-event simulator for satellite-ground VLM inference in LEO.

The package follows one data flow: scenario -> orbits and contact windows -> event
loop -> per-sample log -> summaries -> plots.  The orbital part lives in
:mod:`simulator.orbits`.
"""

__version__ = "0.1.0"
