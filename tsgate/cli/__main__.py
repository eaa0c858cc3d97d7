"""`python -m tsgate.cli`: the `tsgate` command."""

from tsgate.cli import main

if __name__ == "__main__":
    main()
