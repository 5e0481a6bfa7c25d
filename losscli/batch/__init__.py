"""`losscli batch`: many inputs, streamed, at memory speed (the engine behind api.evaluate_files).

    sources.py    INPUTS (files, directories, globs, -) to sources
    npyrows.py    .npy files read by rows into reused buffers, read ahead on a thread
    tables.py     one input's roles, whole or by rows, and its chunks of examples
    evaluators.py chunk -> per-example losses (stream kernels, BLAS, or api.evaluate)
    engine.py     sources -> FileResults as they finish; worker processes for --jobs
    records.py    FileResult (the per-file record) and Summary
"""

from losscli.batch.engine import DTYPES, BatchOptions, evaluate_source, evaluate_sources
from losscli.batch.records import FileResult, Summary
from losscli.batch.sources import expand

__all__ = ["DTYPES", "BatchOptions", "FileResult", "Summary", "evaluate_source",
           "evaluate_sources", "expand"]
