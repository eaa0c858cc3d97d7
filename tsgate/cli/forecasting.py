"""The commands that use a saved forecaster as it is: `evaluate` on the test
part, `forecast` after the data, `plot` and `export` for TF Serving."""

import os

from tsgate.cli.errors import CommandError
from tsgate.cli.files import in_user_names, model_and_table, read_for, show
from tsgate.cli.options import cutoff_time


def evaluate(args):
    from tsgate.data import frame_times

    forecaster, state, df = model_and_table(args)
    trained_until, times = state.get("test"), frame_times(df, forecaster.time_column)
    if args.test is None and trained_until is None:
        raise CommandError(f"{args.model} was trained without --test: give `evaluate --test` a cut-off after the "
                           "rows it was fitted and validated on (a fraction or a timestamp).")
    test = cutoff_time(times, trained_until if args.test is None else args.test, "--test")
    if trained_until is not None and test < cutoff_time(times, trained_until, "--test"):
        raise CommandError(f"--test {args.test} is before {trained_until}, where the model's training data ended: "
                           "the windows before it were fitted or validated on.")
    show(forecaster.evaluate(df, test=test, by=args.by, season=args.season, units=args.units), args.output)


def forecast(args):
    forecaster, _, df = model_and_table(args)
    future = None if args.future is None else read_for(forecaster.time_column, args.future, args.time_column)
    show(in_user_names(forecaster.predict(df, future=future), forecaster), args.output)


def plot(args):
    from matplotlib.figure import Figure

    from tsgate import plotting
    from tsgate.data import frame_times

    formats = Figure().canvas.get_supported_filetypes()
    suffix = os.path.splitext(args.output)[1].lower().lstrip(".")
    if suffix not in formats:
        raise CommandError(f"--output {args.output}: unknown image suffix {suffix or '(none)'!r}; "
                           f"write one of {sorted(formats)}.")
    forecaster, _, df = model_and_table(args)
    series = None
    if args.series is not None:
        ids = {str(sid): sid for sid in forecaster.series_}
        if args.series not in ids:
            raise CommandError(f"--series {args.series!r} is not a series of the model; it has {sorted(ids)[:20]}.")
        series = ids[args.series]
    future = None if args.future is None else read_for(forecaster.time_column, args.future, args.time_column)
    try:
        if args.start is None:
            forecaster.plot(df, args.output, history=args.history, series=series, target=args.target, future=future)
        else:
            times = frame_times(df, forecaster.time_column)
            start = cutoff_time(times, args.start, "--start")
            end = None if args.end is None else cutoff_time(times, args.end, "--end")
            plotting.plot_historical_forecasts(forecaster, df, start, path=args.output, series=series,
                                               target=args.target, end=end, origins=args.origins)
    except OSError as error:
        raise CommandError(f"cannot write {args.output}: {error}") from error
    print(args.output)


def export(args):
    from tsgate.forecaster import Forecaster

    print(Forecaster.load(args.model).export(args.output, version=args.version, xla=args.xla,
                                             unroll=args.unroll))
