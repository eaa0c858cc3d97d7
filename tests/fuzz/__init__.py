"""Generated-input tests (Hypothesis); `fuzz` is the settings of every one."""

from hypothesis import HealthCheck, Phase, settings


def fuzz(examples, shrink=True):
    """Settings for `examples` generated examples, without a deadline (an
    example may fit or load a model).

    shrink=True: a failure is shrunk to a small example, and no example
    database is kept. shrink=False: a failure is reported as generated, in
    seconds rather than after hundreds of re-runs, and neither slow data
    generation nor a function-scoped fixture fails the health check."""
    if shrink:
        return settings(max_examples=examples, deadline=None, database=None)
    return settings(max_examples=examples, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate),
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
