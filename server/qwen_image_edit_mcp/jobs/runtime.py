"""What every job shares, built once per process by the server's lifespan."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from ..addresses import is_private_host
from ..clock import Clock
from ..config import Settings
from ..media.inputs import ImageInputs
from ..state.store import Store
from ..upstream.catalog import Catalog
from ..upstream.protocol import Upstream
from .asked import AskedQuestions
from .background import Background
from .schedule import DurationHistory
from .spending import Spending

# Every call answers within its wait_seconds plus this: room for the submit's answer, the output downloads and the
# previews once the wait is over. Desktop hosts cut calls at about 60 s; the default wait is 50.
ANSWER_MARGIN: Final = 10.0

# Tells the caller what is happening (a progress notification); never raises, whatever the client does.
ProgressFn = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    upstream: Upstream  # the service that runs the edits (WaveSpeed's adapter, or another)
    clock: Clock
    inputs: ImageInputs
    durations: DurationHistory  # when recent edits finished, which the poll schedule learns from
    store: Store  # what outlives the call: the ledger, the upload cache, the job journal
    spending: Spending = field(default_factory=Spending.documented)  # prices and the spend limit
    questions: AskedQuestions = field(default_factory=AskedQuestions)  # spend questions out with a client
    catalog: Catalog = field(default_factory=Catalog.offline)  # the models that can run: live, cached an hour
    background: Background = field(default_factory=Background)  # tasks' jobs, followed after their call answered
    wall_clock: Callable[[], float] = time.time  # Unix seconds, for what other processes read (a task's times)

    @property
    def api_is_local(self) -> bool:
        """True when WaveSpeed's address is itself private: an emulator, whose URLs are local by nature."""
        return is_private_host(urlsplit(self.settings.base_url).hostname or "")

    @property
    def resume_wait(self) -> float:
        """The wait_seconds to suggest when telling a caller how to resume a job."""
        return self.settings.wait_seconds or 50
