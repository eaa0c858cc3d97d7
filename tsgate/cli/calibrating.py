"""`tsgate calibrate` and `tsgate adapt`: the calibration of a saved
forecaster's quantiles on the windows of a table (`Forecaster.calibrate`),
or its adaptive calibration moved through their actuals
(`Forecaster.adapt`), saved back in place of the model it read."""

from tsgate.cli.files import model_and_table
from tsgate.cli.options import cutoff_time


def calibrate(args):
    forecaster, df, start = _read(args)
    forecaster.calibrate(df, start=start, levels=args.levels)
    forecaster.save(args.model)
    calibration = forecaster.calibration_
    print(f"calibrated quantiles {list(calibration.levels)} on {calibration.windows} windows of {args.data}"
          f"{'' if start is None else f' with targets from {start}'}; saved to {args.model}")


def adapt(args):
    forecaster, df, start = _read(args)
    forecaster.adapt(df, start=start)
    forecaster.save(args.model)
    print(f"{forecaster.calibration_.source}; saved to {args.model}")


def _read(args):
    """The saved forecaster, the table laid out for it and `--start` as a timestamp (or None)."""
    from tsgate.data import frame_times

    forecaster, _, df = model_and_table(args)
    start = None if args.start is None else cutoff_time(frame_times(df, forecaster.time_column), args.start, "--start")
    return forecaster, df, start
