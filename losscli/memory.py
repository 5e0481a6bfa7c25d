"""How much memory the machine has free now: the limit a whole breakdown is held to."""

from __future__ import annotations


def available_memory() -> int | None:
    """The bytes of memory available now (Linux's MemAvailable); None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def gib(n: int) -> str:
    """n bytes in GiB, to three figures."""
    return f"{n / 2**30:.3g} GiB"
