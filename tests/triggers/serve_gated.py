"""``python -m tests.triggers.serve_gated serve ...``: the real CLI with the test source registered,
so a test can run ``openconnector serve`` as its own process and send it signals."""

from openconnector.cli import main
from tests.triggers import gated  # noqa: F401  (registers type: gated)

if __name__ == "__main__":
    main()
