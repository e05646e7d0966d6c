"""Entry point for ``python -m debwheels``."""

from debwheels.cli import main

if __name__ == "__main__":
    main()
