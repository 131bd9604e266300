"""The upload guard: decides what happens to each uploaded file (SPEC section 4).

It reads nothing but the upload it is given and writes nothing but temporary spool files, so the
pipeline (`check_uploads`, a batch at a time) and a clinic's `registry validate` (`check_upload`) run
exactly the same checks. The algorithm is in `check` (per file) and `batch` (many small files as one
table); reading in `decoding` and `table`; the rules in `identifiers`, `parsing`, `validation` and
`accounting`; what it refuses in `limits`; where a large upload's rows wait in `spool`.
"""

from pipelines.guard.batch import check_upload, check_uploads
from pipelines.guard.check import Upload
from pipelines.guard.result import GuardResult

__all__ = ["Upload", "check_upload", "check_uploads", "GuardResult"]
