"""The `tsgate` command."""

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tsgate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train, evaluate, plot and export on the bundled sensor data")
    demo.add_argument("--output", default="demo_output", help="directory for the plot, report and SavedModel")
    demo.add_argument("--epochs", type=int, default=8)
    demo.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])
    args = parser.parse_args(argv)

    if args.command == "demo":
        from tsgate import demo as demo_job

        demo_job.print_report(demo_job.run(args.output, epochs=args.epochs, verbose=args.verbose))


if __name__ == "__main__":
    main()
