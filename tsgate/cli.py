"""The `tsgate` command: demo, train, evaluate, forecast on CSV or Parquet files."""

import argparse
import copy
import json
import sys

import pandas as pd

from tsgate import presets


def read_table(path, time_column):
    frame = pd.read_parquet(path) if str(path).endswith((".parquet", ".pq")) else pd.read_csv(path)
    if time_column not in frame.columns:
        raise SystemExit(f"tsgate: column {time_column!r} is not in {path}; columns are {list(frame.columns)}.")
    frame[time_column] = pd.to_datetime(frame[time_column])
    return frame.set_index(time_column)


def build_parser():
    parser = argparse.ArgumentParser(prog="tsgate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="train, evaluate, plot and export on the bundled sensor data")
    demo.add_argument("--output", default="demo_output", help="directory for the plot, report and models")
    demo.add_argument("--epochs", type=int, help="default: the preset's")
    demo.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])

    train = commands.add_parser("train", help="fit a Forecaster on a table and save it")
    train.add_argument("data", help="CSV or Parquet file")
    train.add_argument("--model", required=True, help="directory to save the Forecaster in")
    train.add_argument("--preset", choices=sorted(presets.PRESETS),
                       help="a preset of tsgate.presets; the other options override it")
    train.add_argument("--config", help="JSON file of Forecaster arguments (command-line options override it)")
    train.add_argument("--target", nargs="+")
    train.add_argument("--lookback", type=int)
    train.add_argument("--horizon", type=int)
    train.add_argument("--builder", help="a model builder: recurrent (default) or segment")
    train.add_argument("--cell", choices=["gru", "lstm", "memory_gru", "sru"])
    train.add_argument("--units", type=int)
    train.add_argument("--loss", choices=["mse", "mae", "huber"])
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--schedule", choices=["constant", "cosine"])
    train.add_argument("--past-covariates", nargs="*")
    train.add_argument("--calendar", nargs="*")
    train.add_argument("--quantiles", nargs="*", type=float)
    train.add_argument("--freq")
    train.add_argument("--series-column")
    train.add_argument("--epochs", type=int, help="default: the preset's, else 20")
    train.add_argument("--validation", type=float, default=0.2)
    train.add_argument("--verbose", type=int, default=2, choices=[0, 1, 2])

    exporter = commands.add_parser("export", help="write a raw-unit SavedModel for TF Serving")
    exporter.add_argument("--model", required=True, help="directory of a saved Forecaster")
    exporter.add_argument("--output", required=True, help="the model base path; the version is a subdirectory")
    exporter.add_argument("--version", type=int, help="default: the current Unix time")
    exporter.add_argument("--xla", action="store_true", help="add the XLA-compiled `serving_xla` signature")

    for name, help_text in (("evaluate", "metrics against the naive baselines"), ("forecast", "forecast the next horizon")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("data", help="CSV or Parquet file")
        command.add_argument("--model", required=True, help="directory of a saved Forecaster")
        if name == "evaluate":
            command.add_argument("--test", type=float, default=0.2, help="fraction of the time span held out")
        command.add_argument("--output", help="write the result as CSV here (default: print it)")
    for command in commands.choices.values():
        if command.prog.split()[-1] not in ("demo", "export"):
            command.add_argument("--time-column", default="time")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from tsgate import demo as demo_job

        demo_job.print_report(demo_job.run(args.output, epochs=args.epochs, verbose=args.verbose))
        return

    from tsgate.forecaster import Forecaster

    if args.command == "export":
        print(Forecaster.load(args.model).export(args.output, version=args.version, xla=args.xla))
        return
    df = read_table(args.data, args.time_column)
    if args.command == "train":
        config = copy.deepcopy(presets.PRESETS[args.preset]["forecaster"]) if args.preset else {}
        fit_options = presets.fit_options(args.preset) if args.preset else {"epochs": 20}
        if args.config:
            with open(args.config) as f:
                config.update(json.load(f))
        options = {
            "target": args.target, "lookback": args.lookback, "horizon": args.horizon, "builder": args.builder,
            "cell": args.cell, "units": args.units, "loss": args.loss, "learning_rate": args.learning_rate,
            "schedule": args.schedule, "past_covariates": args.past_covariates, "calendar": args.calendar,
            "quantiles": args.quantiles, "freq": args.freq, "series_column": args.series_column,
        }
        config.update({k: v for k, v in options.items() if v is not None})
        missing = [k for k in ("target", "lookback", "horizon") if k not in config]
        if missing:
            raise SystemExit(f"tsgate train: give {missing} as options or in --config.")
        forecaster = Forecaster(**config)
        if args.epochs is not None:
            fit_options["epochs"] = args.epochs
        forecaster.fit(df, validation=args.validation, verbose=args.verbose, **fit_options)
        forecaster.save(args.model)
        print(f"saved to {args.model}: {forecaster.windows_}")
        return

    forecaster = Forecaster.load(args.model)
    result = forecaster.evaluate(df, test=args.test) if args.command == "evaluate" else forecaster.predict(df)
    if args.output:
        result.to_csv(args.output)
    else:
        result.to_string(sys.stdout)
        print()


if __name__ == "__main__":
    main()
