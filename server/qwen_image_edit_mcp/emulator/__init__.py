"""A local emulator of the WaveSpeedAI HTTP API (qwen-image/edit) for offline development, demos, tests and benchmarks.

It is not the real service: it serves a model catalog in WaveSpeed's shape (`catalog_data.py`, changed at run time
through `POST /_emulator/catalog`), checks each submit against its model's request schema, runs each job on an
injectable clock, returns real (synthetic) images and can be told to misbehave through `Faults`.
"""

from .app import create_emulator_app
from .faults import EmulatorConfig, Faults
from .server import RunningEmulator, main, running_emulator
from .state import EmulatorState

__all__ = [
    "EmulatorConfig",
    "EmulatorState",
    "Faults",
    "RunningEmulator",
    "create_emulator_app",
    "main",
    "running_emulator",
]
