"""Hypothesis profiles for the whole suite.

* ``ci``: hypothesis loads its built-in ``ci`` profile when the ``CI`` environment variable is
  set (derandomized, no deadline, no example database); we keep it and only bound the number
  of examples so the suite stays within a few minutes.
* ``dev`` (the default elsewhere): random examples, more of them, no deadline (a gradient check
  of a 64-element tensor can take longer than hypothesis's 200 ms on a busy machine).
* ``thorough``: for hunting bugs by hand: ``pytest --hypothesis-profile=thorough``.
"""
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", parent=settings.get_profile("ci"), max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

if settings.get_current_profile_name() == "default":
    settings.load_profile("dev")
