"""`losscli batch`: many inputs, streamed, at memory speed (the engine behind api.evaluate_files).

    sources.py    INPUTS (files, directories, globs, -) to sources
    npyrows.py    .npy files read by rows into reused buffers, read ahead on a thread
    tables.py     one input's roles, whole or by rows, and its chunks of examples
    evaluators.py chunk -> per-example losses (the loss module's stream form or evaluate)
    tasks.py      one input, or a row range of one, as a pure function: evaluate_part, combine
    engine.py     sources -> FileResults as they finish; worker processes for --jobs
    cluster.py    the same tasks on a Dask cluster (losscli[dask]); workers.py runs on them
    summary.py    Summary (--summary) of the FileResults (model.py)
"""

from losscli.batch.engine import DTYPES, BatchOptions, evaluate_source, evaluate_sources
from losscli.batch.sources import expand
from losscli.batch.summary import Summary
from losscli.model import FileResult

__all__ = ["DTYPES", "BatchOptions", "FileResult", "Summary", "evaluate_source",
           "evaluate_sources", "expand"]
