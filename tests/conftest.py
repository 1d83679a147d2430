"""Test configuration: on CI, hypothesis draws the same examples every run (no flaky landings);
locally it explores new examples each run."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
