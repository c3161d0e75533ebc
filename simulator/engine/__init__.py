"""The SimPy world: satellites, buffers, downlinks and ground stations.

:mod:`simulator.engine.simulation` is the event-driven core (plain arrays in,
timings out); :mod:`simulator.engine.world` builds it from a scenario.
"""
