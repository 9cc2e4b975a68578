"""One read of the platform: every run created since a point in time, in one paginated listing,
with this repository's runs grouped by run file.

The listing is submit's (submit.engine.Listing over submit.platform): newest first, page by page,
each page retried on a transient error like any submission read. No request is made per file, so a
repository of a thousand run files costs ten pages of a hundred runs, not a thousand requests.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from ..submit.engine import Listing, RetryPolicy, Submitter
from ..submit.platform import Platform, PlatformError, PlatformRun, Repository

Progress = Callable[[str], None]


def stderr_progress(command: str) -> Progress:
    return lambda line: print(f"runrepo {command}: {line}", file=sys.stderr, flush=True)


def credentials() -> bool:
    """An API key is configured (in the environment, or in mcli's own config file)."""
    if os.environ.get("MOSAICML_API_KEY"):
        return True
    from mcli.config import MCLIConfig  # only when no key is in the environment: importing mcli costs ~1 s

    try:
        return bool(MCLIConfig.load_config().api_key)
    except Exception:  # noqa: BLE001 (an unreadable config is no key)
        return False


@dataclass
class Live:
    """The platform as read once: every run of the listing, and this repository's by run file."""

    repository: Repository
    runs: list[PlatformRun]
    since: datetime | None
    pages: int = 0
    seconds: float = 0.0
    by_path: dict[str, list[PlatformRun]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grouped: dict[str, list[PlatformRun]] = defaultdict(list)
        for r in self.runs:  # the listing is newest first, and so is each group
            # A run recorded without a repository (older runrepo) counts as ours, as submit counts it.
            if r.path and self.repository.owns(r) is not False:
                grouped[r.path].append(r)
        self.by_path = dict(grouped)

    def of(self, path: str) -> list[PlatformRun]:
        """This repository's runs of one run file, newest first (deleted ones too)."""
        return self.by_path.get(path, [])

    def live_of(self, path: str) -> list[PlatformRun]:
        """Its runs that hold or wait for GPUs and are certainly this repository's."""
        return [r for r in self.of(path) if r.live and self.repository.owns(r) is True]


class _Paged(Platform):
    """submit's Platform, telling how far the listing has got."""

    def __init__(self, progress: Progress, **kwargs):
        super().__init__(**kwargs)
        self.progress, self.seen, self.page_count = progress, 0, 0

    def _count(self, got):
        if got is not None:
            self.seen += len(got[0])
            self.page_count += 1
            self.progress(f"listing platform runs: page {self.page_count} ({self.seen} runs)")
        return got

    def first_page(self, after):
        return self._count(super().first_page(after))

    def next_page(self, handle):
        return self._count(super().next_page(handle))


@contextlib.contextmanager
def session(timeout: float = 60.0, progress: Progress | None = None) -> Iterator[Submitter]:
    """An mcli session and a Submitter (for its bounded retry) that reads, and stops only when asked."""
    from ..submit.platform import mcli_session

    with mcli_session(4):
        platform = _Paged(progress or (lambda line: None), timeout=timeout, probe_timeout=min(10.0, timeout))
        yield Submitter(platform, Repository(""), None, RetryPolicy(attempts=3, wait=0.5, wait_cap=5.0),
                        progress=None)


def read(sub: Submitter, repository: Repository, since: datetime | None) -> Live:
    """One paginated listing back to `since`; PlatformError when the platform cannot be read."""
    start = time.perf_counter()
    listing = Listing(sub, since)
    runs = listing.back_to(since)
    return Live(repository, runs, since, listing.pages, time.perf_counter() - start)


def read_once(repository: Repository, since: datetime | None, timeout: float = 60.0,
              progress: Progress | None = None) -> Live:
    with session(timeout, progress) as sub:
        return read(sub, repository, since)


__all__ = ["Live", "PlatformError", "credentials", "read", "read_once", "session", "stderr_progress"]
