"""Helpers of the Karpenter integration tests."""
import time


def wait_until(fn, timeout, what, interval=1.0):
    """Poll fn() until it returns a truthy value; fail with what and the last value seen."""
    deadline = time.time() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.time() > deadline:
            raise AssertionError("timed out after %ss waiting for %s; last seen: %r" % (timeout, what, last))
        time.sleep(interval)
