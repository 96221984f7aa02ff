"""Small helpers shared by integration tests (importable as `gpuaas_testlib`)."""
import time


def wait_until(what, fn, timeout=60, interval=0.5):
    """Poll fn() until it returns something truthy; fail saying what was awaited and last seen."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")


def has_condition(obj, ctype):
    """True when a status condition of that type is True."""
    return any(c["type"] == ctype and c["status"] == "True"
               for c in ((obj or {}).get("status", {}).get("conditions") or []))
