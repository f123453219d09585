"""Test helpers used by the tests and the benchmarks, not shipped with the package:
``tcp_proxy`` (a misbehaving TCP proxy for fault tests) and ``fake_gateway`` (a loopback SMS
gateway)."""
