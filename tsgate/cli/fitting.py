"""The commands that fit: `train` (the Forecaster arguments from `--preset`,
`--config` and the options, then `fit` and save), `backtest` (fits copies of
a saved model's configuration) and `demo` (the README's main job)."""

import inspect

from tsgate import presets
from tsgate.cli.errors import CommandError
from tsgate.cli.files import (in_user_names, model_and_table, read_config, read_table, save_state, show,
                              write_table)
from tsgate.cli.options import cutoff_time

FIT_OPTIONS = ("validation", "epochs", "batch_size", "patience", "steps_per_epoch")


def demo(args):
    from tsgate import demo as demo_job

    demo_job.print_report(demo_job.run(args.output, epochs=args.epochs, verbose=args.verbose))


def preset_plan(args, data_freq=None, rows=None, horizon=None, validation=None):
    """The arguments of `presets.config` (without the name: `presets.plan`) for
    `--preset`: `--freq` (else the frequency `data_freq` of the data),
    `horizon`, series of `rows` rows of which the fraction `validation`
    validates (default: `--validation` when it is a fraction, else 0.2)."""
    if validation is None:
        validation = args.validation if isinstance(args.validation, float) else 0.2
    return args.preset, args.freq or data_freq, horizon, rows, validation


def forecaster_arguments(args, names, data_freq=None, rows=None, validation=None):
    """The Forecaster arguments: the preset's (`preset_plan`), then
    `--config`'s, then the options'."""
    given = read_config(args.config, names) if args.config else {}
    horizon = args.horizon or given.get("horizon")
    config = presets.config(*preset_plan(args, data_freq, rows, horizon, validation))["forecaster"] \
        if args.preset else {}
    config.update(given)
    options = {name: getattr(args, name) for name in (
        "target", "lookback", "horizon", "stride", "past_covariates", "future_covariates", "static_covariates",
        "calendar", "quantiles", "series_column", "freq", "fill", "na_values", "scaler", "scale_per_series",
        "builder", "cell", "units", "layers", "loss", "learning_rate", "schedule", "seed", "target_transform",
        "non_negative", "categorical", "dtype_policy", "n_members", "calibration", "sort", "duplicates")}
    config.update({name: value for name, value in options.items() if value is not None})
    if args.holidays:
        config["holidays"] = holiday_argument(args.holidays)
    if args.builder_option:
        config["builder_options"] = {**(config.get("builder_options") or {}), **dict(args.builder_option)}
    config["time_column"] = args.time_column or config.get("time_column") or "time"
    missing = [name for name in ("target", "lookback", "horizon") if name not in config]
    if missing:
        raise CommandError(f"train needs {missing}: give them as options (--{missing[0]} ...) or in --config.")
    return config


def holiday_argument(values):
    """`--holidays`: a list of dates, or an instance of the pandas holiday calendar named."""
    if len(values) > 1 or not values[0].isidentifier():
        return values
    from pandas.tseries import holiday

    calendar = getattr(holiday, values[0], None)
    if not (isinstance(calendar, type) and issubclass(calendar, holiday.AbstractHolidayCalendar)):
        raise CommandError(f"--holidays {values[0]}: not a holiday calendar of pandas.tseries.holiday "
                           "(e.g. USFederalHolidayCalendar); or give dates.")
    return calendar()


def fit_arguments(args, defaults=None):
    """`defaults` updated with the fit options given on the command line."""
    given = {name: getattr(args, name) for name in FIT_OPTIONS}
    return {**(defaults or {}), **{name: value for name, value in given.items() if value is not None}}


def train(args):
    select = getattr(args, "select", False)
    if select and not args.preset:
        raise CommandError("--select chooses among a preset's candidates: give --preset too.")
    if (select or args.command == "tune") and (args.distributed or args.checkpoint_dir):
        raise CommandError(f"{'--select' if select else 'tune'} fits each candidate in this process: leave out "
                           "--distributed and --checkpoint-dir.")
    early = None if args.config else read_table(args.data, args.time_column or "time")  # before TensorFlow loads
    if early is not None:
        check_option_columns(early, args)

    import numpy as np

    from tsgate import distributed
    from tsgate.data import frame_times
    from tsgate.forecaster import Forecaster

    names = inspect.signature(Forecaster).parameters
    config = forecaster_arguments(args, names)
    fit = fit_arguments(args, presets.fit_options(args.preset) if args.preset else None)
    df = early if early is not None else read_table(args.data, config["time_column"])
    test = None
    if args.test is not None:
        times = frame_times(df, config["time_column"])
        test = cutoff_time(times, args.test, "--test")
        df = df[times < test]
        if df.empty:
            raise CommandError(f"--test {args.test} leaves no rows before {test} to train on.")
    if args.preset:  # the lookback: seasons of the data's frequency, as many as its rows leave room for
        freq, rows = presets.frequency_and_length(df, args.freq, config["time_column"], config.get("series_column"))
        validation = None
        if args.validation is not None and not isinstance(args.validation, float):  # a time: its share of rows
            times = frame_times(df, config["time_column"])
            share = float(np.mean(times >= cutoff_time(times, args.validation, "--validation")))
            validation = share if 0 < share < 1 else None
        rows = None if args.distributed else rows  # every worker plans alike: by the frequency alone
        config = forecaster_arguments(args, names, freq, rows, validation)
        segment, segments, why = presets.plan(*preset_plan(args, freq, rows, config["horizon"], validation)[1:])
        given = "" if config["lookback"] == segment * segments else f"; lookback {config['lookback']} given instead"
        print(f"{args.preset}: {why}{given}")
    strategy = distributed.strategy_from_tf_config() if args.distributed else None
    forecaster = Forecaster(**config)
    searching = args.command == "tune" or select
    forecaster = choose(args, forecaster, df, fit) if searching else forecaster.fit(
        df, verbose=args.verbose, checkpoint_dir=args.checkpoint_dir, strategy=strategy, **fit)
    if not distributed.is_chief(strategy):
        print(f"worker {distributed.worker(strategy)[0]}: trained; the chief saves the model")
        return
    forecaster.save(args.model)
    save_state(args.model, {"test": None if test is None else str(test)})
    held_out = "" if test is None else f"; test part from {test}"
    print(f"saved to {args.model}: {forecaster.windows_}{held_out}")


def check_option_columns(df, args):
    """The columns the options name (--target, the covariates, --series-column) in the table `args.data`."""
    named = [*(args.target or []), *(args.past_covariates or []), *(args.future_covariates or []),
             *(args.static_covariates or []), *([args.series_column] if args.series_column else [])]
    missing = [c for c in dict.fromkeys(named) if c not in df.columns]
    if missing:
        raise CommandError(f"column(s) {missing} are missing from {args.data}; its columns are "
                           f"{[str(c) for c in df.columns][:20]}.")


def choose(args, forecaster, df, fit):
    """`train --select`: the best of the preset's candidates (`tsgate.selection.select`); `tune`: the best of
    `--trials` drawn from `--space` (`tsgate.tuning.tune`); its table printed."""
    from tsgate.selection import select
    from tsgate.tuning import tune

    if args.command == "tune":
        best = tune(forecaster, df, dict(args.space), args.trials, args.seed or 0, verbose=args.verbose, **fit)
    else:
        best = select(forecaster, df, presets.candidates(args.preset), verbose=args.verbose, **fit)
    show(best.selection_, None)
    print(f"selected: {best.selection_['arguments'].iloc[-1]}")
    return best


def backtest(args):
    forecaster, _, df = model_and_table(args)
    refit = "update" if args.update else args.refit
    result = forecaster.backtest(df, folds=args.folds, test=args.test, refit=refit, by=args.by, units=args.units,
                                 gap=args.gap, window=args.window,
                                 season=args.season, verbose=args.verbose, **fit_arguments(args))
    show(result.folds, None)
    show(result.metrics, args.output)
    if args.forecasts:
        write_table(in_user_names(result.forecasts, forecaster), args.forecasts)
