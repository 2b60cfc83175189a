"""What the stacked launcher's worker server does once, before it forks its first worker
(regopt.sweep.worker_pool): what a fresh process would otherwise pay in its first stack.

- regopt.quick_exit first, so its handler runs last and the server ends in 0.1 s, not 1.2 s;
- the training code: torch, Lightning, regopt's engine (3.6-5 s of a core);
- one small curves figure drawn into memory (PIL loads its image plugins at its first save, and
  matplotlib does first-draw work; a worker's first curves.png took 0.5 s without it, 0.15-0.2 s
  with it; matplotlib reloads its fonts after a fork all the same).

The launcher adds the modules of the first job's data and model classes. An error here would
end the server, so the figure's is ignored: each worker then draws its own first one.
"""

from __future__ import annotations

import contextlib

import regopt.quick_exit  # noqa: F401 - first: see the module's note
import regopt.stacked.engine  # noqa: F401
from regopt.record.plots import warm_up

with contextlib.suppress(Exception):
    warm_up()
