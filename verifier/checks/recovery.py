"""Recovering many signatures at once, on every core: a figure proof carries one signature a
record, and libsecp256k1 recovery is most of its verification time.

The result is the same list, in the same order, whether the work ran here or in worker
processes: parallelism changes how fast the addresses come back, never which. A signature that
does not recover gives None; the caller then names the failure with
:func:`verifier.checks.kernel.check_signature`, exactly as a one-by-one check would.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from verifier.errors import SignatureError
from verifier.protocol.typed_data import recover_address

__all__ = ["PARALLEL_FROM", "recover_addresses"]

# Below this many signatures, starting interpreters costs more than recovering them here.
PARALLEL_FROM = 8_192
_CHUNK = 4_096
# A forked worker starts at once and runs only C code (libsecp256k1, keccak) on what it is
# handed; "spawn" would re-run the caller's main script in every worker, and where fork is
# missing, that is what the caller gets (its script needs the usual __main__ guard).
_START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"

Pair = tuple[bytes, bytes]  # (digest, signature)


def _recover(pair: Pair | None) -> bytes | None:
    if pair is None:
        return None
    try:
        return recover_address(*pair)
    except (SignatureError, ValueError):
        return None


def _recover_chunk(pairs: list[Pair | None]) -> list[bytes | None]:
    return [_recover(p) for p in pairs]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def recover_addresses(
    pairs: Iterable[Pair | None], *, parallel_from: int = PARALLEL_FROM, chunk: int = _CHUNK
) -> list[bytes | None]:
    """The 20-byte signer of each (digest, signature), None where none recovers (or the pair
    is None). ``pairs`` is consumed lazily, so a caller producing digests overlaps with the
    workers recovering the chunks already handed over."""
    it = iter(pairs)
    head = list(itertools.islice(it, parallel_from))
    cores = _cores()
    if len(head) < parallel_from or cores < 2:
        return _recover_chunk([*head, *it])
    return _in_workers(itertools.chain(head, it), cores, chunk)


def _chunks(pairs: Iterator[Pair | None], size: int) -> Iterator[list[Pair | None]]:
    while chunk := list(itertools.islice(pairs, size)):
        yield chunk


def _in_workers(pairs: Iterator[Pair | None], workers: int, size: int) -> list[bytes | None]:
    chunks: list[list[Pair | None]] = []
    try:
        context = multiprocessing.get_context(_START_METHOD)
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures: list[Future[list[bytes | None]]] = []
            for chunk in _chunks(pairs, size):
                chunks.append(chunk)
                futures.append(pool.submit(_recover_chunk, chunk))
            return [address for f in futures for address in f.result()]
    except (BrokenProcessPool, OSError):  # no worker processes here: same answer, one core
        chunks.extend(_chunks(pairs, size))
        return _recover_chunk([p for chunk in chunks for p in chunk])
