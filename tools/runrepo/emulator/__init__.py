"""Local MosaicML API (MAPI) emulator that the real mcli SDK and CLI can talk to.

    with running_emulator(tmp_path / "state.json") as emu:
        env = mcli_env(emu.endpoint)           # MOSAICML_API_ENDPOINT / _API_KEY / upgrade check
        emu.set_faults(rules=["502,after,op=createRun,count=1"])
"""

from .faults import FaultConfigError, FaultPlan, FaultRule
from .harness import MCLI_ENV_CONFLICTS, Emulator, mcli_env, running_emulator, start_emulator
from .server import EmulatorError, EmulatorServer
from .state import StateError, StateStore

__all__ = [
    "MCLI_ENV_CONFLICTS",
    "Emulator",
    "EmulatorError",
    "EmulatorServer",
    "FaultConfigError",
    "FaultPlan",
    "FaultRule",
    "StateError",
    "StateStore",
    "mcli_env",
    "running_emulator",
    "start_emulator",
]
