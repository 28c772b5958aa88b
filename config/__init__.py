"""Project configuration: settings, root URLs and the Celery application.

Importing the Celery app here makes ``@shared_task`` bind to it whenever Django starts.

Numerical libraries get one thread per process unless the environment says otherwise, before any
of them is imported: web and worker processes already run one per core, and on small machines
oversubscribed BLAS/OpenMP threads made the text encoders many times slower (measured 20x on two
cores). ``MATCHING_ENCODER_THREADS`` sets the encoders' own threads.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from config.celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
