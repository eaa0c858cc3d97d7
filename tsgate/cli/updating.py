"""`tsgate update`: a saved forecaster trained on from its weights on the
new rows of a table (`Forecaster.update`), saved back in place of the model
it read; `tsgate export` then writes the next version beside the previous."""

from tsgate.cli.files import model_and_table, save_state


def update(args):
    forecaster, _, df = model_and_table(args)
    forecaster.update(df, epochs=args.epochs, learning_rate=args.learning_rate, replay=args.replay,
                      validation=args.validation, patience=args.patience, batch_size=args.batch_size,
                      verbose=args.verbose)
    forecaster.save(args.model)
    save_state(args.model, {"test": None})  # train's test cut-off now lies in what the update trained on
    record = forecaster.updates_[-1]
    before, after = record["validation_loss"]
    outcome = "kept" if record["kept"] else "undone: no better than before, the weights are unchanged"
    added = f", new series {record['new_series']}" if record["new_series"] else ""
    print(f"updated on {record['windows']} new windows ({record['replayed']} replayed, {record['validation']} "
          f"validating{added}) through {record['through']} in {record['epochs']} epochs: validation loss "
          f"{before:.4g} -> {after:.4g}, {outcome}; saved to {args.model} (evaluate it with --test after "
          f"{record['through']})")
