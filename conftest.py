"""Repository-root conftest: make the kafkadrill pytest plugin available from a checkout.

When kafkadrill is installed (`pip install -e .`), pytest loads the plugin through the `pytest11`
entry point before this file is imported; registering the same module again under its module
name would make pytest fail ("Plugin already registered under a different name"), hence the
guard. From a plain checkout (not installed), src/ is put on the path first.
"""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("kafkadrill") is None:
    sys.path.insert(0, str(Path(__file__).parent / "src"))

if "kafkadrill.pytest_plugin" not in sys.modules:
    pytest_plugins = ["kafkadrill.pytest_plugin"]


# -- which suite runs: kafkadrill's own tests, split by what each proves (README "Tests") -------
# landing (default, what CI runs on every landing): every capability proven once, on its own
#   runtime -- unit and property tests, the drill suite, each runtime's integration tests.
# release (before a release): whole drills re-run on a second runtime and compared with the
#   local one (compose drills; the broker kill, link cut and region failover through the
#   external runtime's adapters); the local runtime's primitives on 3+3 (the drills use 3+3);
#   drills whose claim another landing drill makes (drills/conftest.py RELEASE_ONLY) and
#   comparison arms that assert no guarantee (acks=1 beside acks=all).
SUITES = ("landing", "release", "all")


def pytest_addoption(parser):  # type: ignore[no-untyped-def]
    parser.addoption(
        "--suite",
        choices=SUITES,
        default="landing",
        help="landing (default): what CI runs; release: the cross-runtime drills; all: both",
    )


def pytest_configure(config):  # type: ignore[no-untyped-def]
    config.addinivalue_line(
        "markers", "release: cross-runtime whole-drill equivalence, run with --suite release"
    )


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    suite = config.getoption("--suite")
    if suite == "all":
        return
    want_release = suite == "release"
    keep = [i for i in items if (i.get_closest_marker("release") is not None) == want_release]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
