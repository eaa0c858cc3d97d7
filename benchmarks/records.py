"""The JSON list of runs a benchmark script keeps: read, completed with the
runs it lacks, rewritten after each, so an interrupted benchmark resumes."""

import json
from pathlib import Path


def run_missing(out, data_dir, datasets, seeds, run, script):
    """Every record of the JSON list at `out` once `run(name, path, seed)`
    (a record with "dataset" and "seed") has added the dataset-seed pairs it
    lacks, `<data_dir>/<name>.csv` each; a missing file ends `script` in one
    line naming it."""
    records = json.loads(Path(out).read_text()) if Path(out).exists() else []
    done = {(record["dataset"], record["seed"]) for record in records}
    for name in datasets:
        path = Path(data_dir) / f"{name}.csv"
        if not path.is_file():
            raise SystemExit(f"{script}: {path} does not exist (--data-dir).")
        for seed in seeds:
            if (name, seed) not in done:
                records.append(run(name, path, seed))
                Path(out).write_text(json.dumps(records, indent=1))
    return records
