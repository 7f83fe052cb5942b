"""gunicorn entry point: `gunicorn wsgi:app`."""
import gc

from casetrack import create_app

app = create_app()
# What the app built at start-up (workflows, models, compiled SQL) lives as long as the process:
# moved out of the cyclic collector's sight, every later collection in a worker walks only what
# requests allocate: fewer and shorter pauses in the middle of a request, which otherwise land
# in the tail of the latencies. With `--preload` this runs in the master before the fork, and
# the workers also keep sharing these pages with it (a collection writes to what it walks).
gc.collect()
gc.freeze()
