"""Runs every benchmark with its defaults; one JSON line per measurement.

    python -m benchmarks.run_all      (or: make benchmark)
"""

from benchmarks import conv, recurrent, serving, windowing


def main():
    recurrent.main([])
    conv.main([])
    windowing.main([])
    serving.main([])


if __name__ == "__main__":
    main()
