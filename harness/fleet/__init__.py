"""Fleets as data: the manifest, its edges and start order, and the lifecycle that runs it.

from harness.fleet import launch
with launch("fleet.yaml") as fleet:
    with fleet.edge("front->prices").latency(800):
        ...
"""

from harness.fleet.graph import Edge, EdgeKind, derive_edges, edge_name, start_order, start_waves
from harness.fleet.launch import launch, launch_from_config
from harness.fleet.lifecycle import Fleet, RunningService
from harness.fleet.manifest import Manifest, ServiceSpec, load_manifest
from harness.fleet.signals import Terminated, deferred, sigterm_raises
from harness.fleet.wiring import EdgeProxy

__all__ = [
    "Edge",
    "EdgeKind",
    "EdgeProxy",
    "Fleet",
    "Manifest",
    "RunningService",
    "ServiceSpec",
    "Terminated",
    "deferred",
    "derive_edges",
    "edge_name",
    "launch",
    "launch_from_config",
    "load_manifest",
    "sigterm_raises",
    "start_order",
    "start_waves",
]
