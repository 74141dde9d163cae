"""The portal's settings with one more URL, /bench/empty/: an empty Django request through the whole
middleware, the floor under every path the benches measure. Only bench/hotpaths.py serves it."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
