"""Data-parallel training with `tf.distribute`: `Forecaster.fit(df, strategy=...)`.

Each worker process passes its own share of the series to `fit`. What must be
the same on every worker is agreed on by all-gathers across the workers
before training: the scaler's statistics (`tsgate.scaler_statistics`:
counts, means, squared deviations, minima, maxima, merged as if one process
had all the rows), the validation cut-off of a fraction (on the overall time
span), the number of steps of an epoch (that of the worker with the most
windows; the others cycle through theirs, so their windows weigh more, and
Keras averages the workers' epoch losses: both match one process only for
equal shares), and the series and window counts the fitted forecaster
records. Keras then keeps the weights identical:
gradients are all-reduced every step.

    strategy = tsgate.distributed.strategy_from_tf_config()  # TF_CONFIG names this worker
    forecaster.fit(my_share_of_series, strategy=strategy, checkpoint_dir="/shared/run1")
    if tsgate.distributed.is_chief(strategy):
        forecaster.save("model")

With `checkpoint_dir`, each worker keeps tsgate's crash-safe checkpoints
(`tsgate.checkpoints.Checkpoints`) in `checkpoint_dir/worker-<i>` (with more
than one worker): workers killed and started again resume from the last
epoch all of them finished, with EarlyStopping's best value, patience and
best weights, as one process does.
"""

import json
import os

import numpy as np
import pandas as pd

from tsgate.data import fraction_cutoff, plain
from tsgate.scaler_statistics import REDUCIBLE, merge_statistics
from tsgate.validation import invalid

REFUSED = {  # Forecaster arguments whose fitted state cannot be merged across workers, and why
    "target_transform": ("boxcox", "Box-Cox's lambda is a maximum-likelihood fit on all the rows"),
    "lookback": ("auto", "each worker would plan it on its own rows; give the planned one"),
}


def strategy_from_tf_config(environ=None):
    """A `tf.distribute.MultiWorkerMirroredStrategy` for the cluster and task
    that the TF_CONFIG environment variable names (JSON: {"cluster":
    {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}});
    a missing or malformed TF_CONFIG is an error saying what is wrong."""
    text = (os.environ if environ is None else environ).get("TF_CONFIG")
    if not text:
        raise ValueError("TF_CONFIG is not set: a distributed run needs it to name the cluster and this worker, e.g. "
                         '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                         '"index": 0}} (Ray Train\'s TensorflowTrainer and Kubernetes operators set it).')
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        workers = list(cluster.get("chief", [])) + list(cluster.get("worker", []))
        index = task["index"]
        known = task["type"] in cluster and isinstance(index, int) and 0 <= index < len(cluster[task["type"]])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"TF_CONFIG is not a cluster and task description ({error!r}): {text[:200]}") from None
    if not workers or not known:
        raise ValueError(f"TF_CONFIG's task {task!r} is not one of its cluster's workers: {text[:200]}")
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


def check_strategy(strategy):
    """`strategy` a `tf.distribute.Strategy`, else a clear error."""
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.Strategy):
        raise invalid("strategy", "None or a tf.distribute.Strategy (MirroredStrategy, MultiWorkerMirroredStrategy)",
                      strategy)


def check_forecaster(forecaster):
    """Refuses, before any data is read, the configurations whose fitted
    state the workers cannot agree on exactly."""
    for name, (value, why) in REFUSED.items():
        if getattr(forecaster, name) == value:
            raise ValueError(f"{name}={value!r} cannot be fitted across workers ({why}); fit it in one process.")
    if forecaster.calibration is not None:
        raise ValueError(f"calibration={forecaster.calibration!r} cannot be fitted across workers (each holds other "
                         "validation windows); calibrate the fitted forecaster in one process with "
                         "forecaster.calibrate(df, start=...).")
    if forecaster.categorical:
        raise ValueError("categorical columns cannot be fitted across workers (each would see other categories); "
                         "one-hot encode them into covariates before fitting.")
    if not isinstance(forecaster.scaler, str) or forecaster.scaler not in REDUCIBLE:
        raise ValueError(f"The scaler {forecaster.scaler!r} cannot be fitted across workers: only {list(REDUCIBLE)} "
                         "have statistics (counts, sums, squared deviations, minima, maxima) that reduce exactly; "
                         "a robust scaler's quantiles and medians do not.")


def worker(strategy):
    """(index, count) of this worker process among the strategy's (0, 1 in one process)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return 0, 1
    spec = resolver.cluster_spec().as_dict()
    order = [(job, i) for job in ("chief", "worker") for i in range(len(spec.get(job, [])))]
    return order.index((resolver.task_type, resolver.task_id)), len(order)


def is_chief(strategy=None):
    """Whether this process writes the run's files (the saved forecaster, the
    export): the chief, or worker 0 of a cluster without one; True without a
    strategy or in a single process."""
    return strategy is None or worker(strategy)[0] == 0


def all_gather(strategy, value):
    """The JSON-able `value` of every worker process, in worker order (a
    collective: every worker must call it)."""
    import tensorflow as tf

    data = np.frombuffer(json.dumps(value).encode(), np.uint8).astype(np.int32)
    local = len(strategy.extended.worker_devices)

    def per_replica(row):  # the first replica of each worker carries its row, the others an empty one
        return strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(row if context.replica_id_in_sync_group % local == 0 else row[:, :0]))

    lengths = strategy.gather(per_replica(np.asarray([[len(data)]], np.int32)), axis=1).numpy().ravel()
    longest = int(lengths.max())
    rows = strategy.gather(per_replica(np.pad(data, (0, longest - len(data)))[None]), axis=0).numpy()
    return [json.loads(row[:n].astype(np.uint8).tobytes()) for row, n in zip(rows, lengths) if n]


def reduce_statistics(strategy):
    """The `reduce` argument of `AffineScaler.fit`: statistics of all workers' rows."""
    return lambda statistics: merge_statistics(all_gather(strategy, statistics))


def global_cutoff(strategy, panel, validation):
    """`panel.cutoff(validation)` with a fraction taken of the time span of
    all workers' panels together (a timestamp is the same everywhere)."""
    cutoff = panel.cutoff(validation, "validation")
    if isinstance(validation, (str, np.datetime64)) or hasattr(validation, "year"):
        return cutoff
    unit = np.datetime_data(panel.time.dtype)[0]
    spans = np.asarray(all_gather(strategy, [int(panel.time.min().astype("int64")),
                                             int(panel.time.max().astype("int64"))]), "int64")
    start, end = (np.datetime64(int(t), unit) for t in (spans[:, 0].min(), spans[:, 1].max()))
    return fraction_cutoff(start, end, float(validation))


def replica_batch(strategy, batch_size):
    """The batch of each replica: `batch_size` (the global batch) split evenly."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise invalid("batch_size", f"a multiple of the {replicas} replicas (the global batch, split among them)",
                      batch_size)
    return batch_size // replicas


def distribute(strategy, datasets, windows, batch, train_steps=None):
    """`datasets` (a tf.data.Dataset of `batch` windows each, per replica, of
    this worker's `windows`) as the strategy's distributed datasets with the
    same number of steps on every worker: each cycles through its windows
    for as many steps as the worker with the most needs (the first dataset,
    for `train_steps` steps when given). Returns them and those numbers of
    steps."""
    local = len(strategy.extended.worker_devices)
    counts = all_gather(strategy, [int(n) for n in windows])
    steps = [max(-(-int(n) // (batch * local)) for n in column) for column in zip(*counts)]
    if min(steps) == 0:
        raise ValueError("No worker has a window to train or validate on.")
    if train_steps is not None:
        steps[0] = train_steps
    distributed = [strategy.distribute_datasets_from_function(lambda _, d=dataset, s=n: d.repeat().take(s * local))
                   for dataset, n in zip(datasets, steps)]
    return distributed, steps


def work_around_keras(model, dataset):
    """Lets Keras 3.x `fit` run `model` across workers: its symbolic build
    takes a batch of this worker's `dataset` (a `tf.data.Dataset`; Keras
    takes a mean of the first distributed batch across workers, which fails
    for a dict of inputs, keras-team/keras#20329), and the metrics of its
    train and test steps get a leading axis of 1 (Keras reduces them across
    workers with a mean along axis 0, which fails for scalars,
    keras-team/keras#20585). Nothing changes in a single worker."""
    from keras import ops

    if worker(model.distribute_strategy)[1] == 1:
        return
    batch = next(iter(dataset))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: type(model)._maybe_symbolic_build(
        model, data_batch=batch)
    for name in ("train_step", "test_step"):
        step = getattr(model, name)
        setattr(model, name, lambda data, step=step: {k: ops.reshape(v, (1,)) for k, v in step(data).items()})


def gather_fitted(strategy, series, ends, windows):
    """The series ids `(n,)`, their last timestamps and the window counts
    of all workers together (ids in worker order; a series on several
    workers once, with its latest end; counts summed)."""
    parts = all_gather(strategy, [[plain(s) for s in series], [str(end) for end in ends], windows])
    last = {}
    for ids, stamps, _ in parts:
        for sid, stamp in zip(ids, stamps):
            last[sid] = max(last.get(sid, pd.Timestamp(stamp)), pd.Timestamp(stamp))
    total = {key: sum(part[2][key] for part in parts) for key in windows}
    return list(last), list(last.values()), total

