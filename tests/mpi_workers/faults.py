"""Run under mpiexec with a mode: how a failing rank ends the whole job.

raise: rank 1 raises while rank 0 waits in a collective; the excepthook installed by
    init_process_group prints the error and aborts every rank.
timeout: rank 1 leaves without joining the collective; rank 0's watchdog aborts the job
    after the timeout.
"""

import sys

import tinygrad_mom as tm
import tinygrad_mom.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=float(sys.argv[2]) if len(sys.argv) > 2 else None)
rank = dist.get_rank()
if mode == "raise":
    if rank == 1:
        raise ValueError("rank 1 failed on purpose")
    dist.all_reduce(tm.ones(3))  # waits for rank 1, which never comes: the abort ends it
elif mode == "timeout":
    if rank == 1:
        sys.exit(0)  # a clean exit that skips the collective: only the deadline notices
    dist.barrier()
print(f"rank {rank}: finished", flush=True)
