"""The backend port: one adapter per backend, and how the harness reads what they hold.

`Backends` composes a World's Supabase adapter (in process, or remote by URL and DSN) and the
in-process CloudKit model; `capabilities` says what each can do, and which scenario steps need what.
"""

from dualsync.harness.backends.capabilities import ALL as CAPABILITIES, missing, needed
from dualsync.harness.backends.reading import Backends, CommitRecorder, capabilities_of
from dualsync.harness.backends.supabase import (InProcessSupabase, RemoteProblem, RemoteSupabase, SupabaseTarget,
                                                check_remote)

__all__ = ["Backends", "CAPABILITIES", "CommitRecorder", "InProcessSupabase", "RemoteProblem", "RemoteSupabase",
           "SupabaseTarget", "capabilities_of", "check_remote", "missing", "needed"]
