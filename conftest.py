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
