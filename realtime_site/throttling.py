"""
DRF's anonymous and per-user throttles, counted in the shared cache and failing open.

They count per client address by DRF's ``NUM_PROXIES`` rule (broadcasting/
runtime/client_address.py says why) in the cache every process shares; when that cache fails,
requests go through uncounted instead of failing (broadcasting/runtime/circuit.py). They
count through the process's one cache object (broadcasting/runtime/shared_cache.py).
"""

from rest_framework import throttling

from broadcasting.runtime.circuit import Circuit
from broadcasting.runtime.shared_cache import shared_cache

throttle_cache_circuit = Circuit("API throttling's cache")


class FailOpenThrottleMixin(throttling.SimpleRateThrottle):
    @property
    def cache(self):  # type: ignore[override]
        """The process's one cache object, not one per request (broadcasting/runtime/shared_cache.py)."""
        return shared_cache()

    def allow_request(self, request, view) -> bool:
        if not throttle_cache_circuit.closed():
            return True
        try:
            return super().allow_request(request, view)
        except Exception as error:
            throttle_cache_circuit.failed(error)
            return True


class AnonRateThrottle(FailOpenThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenThrottleMixin, throttling.UserRateThrottle):
    pass
